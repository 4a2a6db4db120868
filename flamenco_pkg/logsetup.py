"""Log set-up shared by the Manager's and the Worker's command lines."""

from __future__ import annotations

import logging


def setup_logging(*, quiet: bool, debug: bool) -> None:
    """-quiet: warnings and errors; -debug/-trace: everything; else info."""
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%Y-%m-%d %H:%M:%S")
    for noisy in ("urllib3", "PIL"):  # their debug lines repeat ours
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not debug:
        # One access-log line per HTTP request drowns what a wrangler needs; -debug shows them.
        logging.getLogger("geventwebsocket.handler").setLevel(logging.WARNING)
