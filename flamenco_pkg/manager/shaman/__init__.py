"""Shaman: the Manager's content-addressed file store and per-job checkouts.

The add-on asks which files the store lacks (`requirements`), uploads only
those (`Uploads.receive`), then asks for a checkout: a folder under
`{shared}/jobs/` of links to the stored files, which the job renders from.
The garbage collector (`run_gc`) removes stored files no checkout uses.

Modules: specs (validation, pure), layout (paths, pure), filestore (status
and files on disk), uploads (receiving one upload), links (symlink, hard
link or copy), checkout (create and remove), gc (sweeps).
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import Config
from .checkout import CheckoutError, CheckoutExists, CheckoutResult, Checkouts, MissingFiles
from .filestore import STORED, FileStore
from .gc import GCReport, sweep
from .layout import Layout
from .links import Linker
from .specs import BlobKey, FileSpec, SpecError, check_blob_key, unique_blobs
from .uploads import Outcome, UploadRejected, Uploads

__all__ = [
    "CheckoutError", "CheckoutExists", "CheckoutResult", "GCReport", "MissingFiles", "Outcome", "Shaman",
    "ShamanUnavailable", "SpecError", "UploadRejected", "check_blob_key", "for_config", "is_enabled",
    "remove_checkout", "run_gc",
]


class ShamanUnavailable(Exception):
    """Shaman is switched off, or there is no shared storage yet (first run)."""


class Shaman:
    """The store and checkouts under one shared storage root, with per-process upload state."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.store = FileStore(layout)
        self.uploads = Uploads(self.store)
        self.checkouts = Checkouts(layout, self.store, Linker())

    def requirements(self, specs: list[FileSpec]) -> list[dict[str, Any]]:
        """The files still to upload (`unknown` or `uploading`), each blob once.

        Stored files are left out and touched, so the garbage collector keeps
        them until the checkout that will use them is made.
        """
        needed = []
        for spec in unique_blobs(specs):
            status = self.store.status(spec.key)
            if status == STORED:
                self.store.touch(spec.key)
            else:
                needed.append(dict(asdict(spec), status=status))
        return needed

    def status(self, key: BlobKey) -> str:
        return self.store.status(key)


_instances: dict[Path, Shaman] = {}
_instances_lock = threading.Lock()


def is_enabled(config: Config) -> bool:
    """Shaman runs when switched on and a shared storage path is set (not on the first run)."""
    return bool(config.shaman.enabled and config.shared_storage_path)


def for_config(config: Config) -> Shaman:
    """The Shaman of this configuration's shared storage; one per storage per process."""
    if not config.shaman.enabled:
        raise ShamanUnavailable("Shaman is disabled on this Manager (shaman.enabled: false)")
    if not config.shared_storage_path:
        raise ShamanUnavailable("Shaman is not available: the Manager has no shared storage path yet")
    layout = Layout.for_shared_storage(config.shared_storage_path)
    with _instances_lock:
        shaman = _instances.get(layout.root)
        if shaman is None:
            shaman = _instances[layout.root] = Shaman(layout)
        return shaman


def run_gc(config: Config, *, delete: bool) -> GCReport:
    """One garbage collection sweep of the configured store (`-shaman-gc-show` / `-delete`).

    Works whether or not Shaman is switched on, so a store left behind can
    still be cleaned. Raises ShamanUnavailable without a shared storage path.
    """
    if not config.shared_storage_path:
        raise ShamanUnavailable("there is no shared_storage_path in the configuration, so no Shaman file store")
    layout = Layout.for_shared_storage(config.shared_storage_path)
    return sweep(layout, config.shaman.garbage_collect.max_age, delete=delete)


def remove_checkout(config: Config, checkout_id: str) -> bool:
    """Remove a deleted job's checkout (`storage.shaman_checkout_id`); False if there was none.

    Raises SpecError for an ID that is not a valid checkout path (it could
    point outside the checkout root) and OSError when removal fails, so the
    job deleter can keep the job and try again later.
    """
    if not checkout_id or not config.shared_storage_path:
        return False
    layout = Layout.for_shared_storage(config.shared_storage_path)
    return Checkouts(layout, FileStore(layout)).remove(checkout_id)


def gc_command(config: Config, *, delete: bool) -> int:
    """`-shaman-gc-show` / `-shaman-gc-delete`: one sweep, printed for the wrangler; the exit code."""
    import sys

    try:
        report = run_gc(config, delete=delete)
    except ShamanUnavailable as exc:
        print(f"flamenco-manager: {exc}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 1 if report.errors else 0
