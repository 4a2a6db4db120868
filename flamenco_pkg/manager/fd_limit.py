"""The Manager's open-file limit: as high as the system allows, at start-up.

Every Worker keeps a connection open, and recently written task logs stay
open; a common soft limit of 1024 descriptors runs out at about a thousand
Workers, with "Too many open files" on accept. The hard limit is the
system's real bound, and raising the soft one up to it needs no privileges
(Go, which upstream Flamenco is written in, does the same at start-up).
"""

from __future__ import annotations

import logging

log = logging.getLogger("flamenco.manager")

CAP = 1 << 20  # an "unlimited" hard limit: no process needs more, and select-based code chokes on more


def raise_open_files_limit() -> tuple[int, int] | None:
    """Raise the soft RLIMIT_NOFILE to the hard one (at most CAP); returns (before, after), None where unknown."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = CAP if hard == resource.RLIM_INFINITY else min(hard, CAP)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.debug("open-file limit raised from %d to %d", soft, target)
            return soft, target
        return soft, soft
    except (OSError, ValueError) as exc:
        log.warning("could not raise the open-file limit (%s); a big farm may run out of connections", exc)
        return None
