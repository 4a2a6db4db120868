"""Checkouts: a job's own folder of links into the file store, and removing it.

A checkout isolates a job from later edits of the project: the files it sees
are the blobs that were uploaded for it, which never change. Every path is
validated (specs.py) and, after folders are made, checked again on disk to
lie inside the checkout root, so neither `..` nor a planted symlink can make
the Manager write elsewhere.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import string
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .filestore import FileStore, remove_empty_dirs
from .layout import Layout
from .links import Linker, same_target
from .specs import FileSpec, SpecError, check_checkout_path, plan_checkout

log = logging.getLogger("flamenco.shaman")

SUFFIX_ATTEMPTS = 10
_SUFFIX_CHARS = string.ascii_lowercase + string.digits


class CheckoutError(Exception):
    """A checkout that cannot be made; `status` is the HTTP status to answer with."""

    status = 500


class MissingFiles(CheckoutError):
    status = 424  # upstream's spec: upload the missing files first


class CheckoutExists(CheckoutError):
    status = 409


@dataclass(frozen=True)
class CheckoutResult:
    path: str  # relative to the checkout root, with / separators
    directory: Path
    methods: dict[str, int]  # how many files were symlinked / hard linked / copied


def _inside(path: Path, root: Path) -> bool:
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


class Checkouts:
    def __init__(self, layout: Layout, store: FileStore, linker: Linker | None = None) -> None:
        self.layout = layout
        self.store = store
        self.linker = linker or Linker()
        self._claim_lock = threading.Lock()

    def create(self, checkout_path: str, specs: list[FileSpec]) -> CheckoutResult:
        """Build the checkout; the path actually used may carry a `-xxxx` suffix.

        Raises SpecError (bad request), MissingFiles, CheckoutExists or OSError.
        A failed checkout leaves nothing behind.
        """
        wanted = check_checkout_path(checkout_path)
        files = plan_checkout(specs)
        missing = [spec for spec in files if not self.store.is_stored(spec.key)]
        if missing:
            raise MissingFiles(f"{len(missing)} of {len(files)} files are not in the file store, "
                               f"for example {missing[0].path!r}; upload them first")
        # Touch before linking: a GC sweep running right now re-checks mtimes before deleting.
        for spec in files:
            self.store.touch(spec.key)

        actual, directory = self._claim(wanted)
        methods: Counter[str] = Counter()
        try:
            for spec in files:
                methods[self._link(directory, spec)] += 1
        except BaseException:
            _remove_tree(directory)
            remove_empty_dirs(directory.parent, self.layout.checkouts)
            raise
        log.info("checkout %s: %d files (%s)", actual, len(files),
                 ", ".join(f"{n} by {method}" for method, n in sorted(methods.items())) or "empty")
        return CheckoutResult(actual, directory, dict(methods))

    def _claim(self, wanted: str) -> tuple[str, Path]:
        """Create the checkout folder; mkdir is atomic, so two Managers cannot both get it."""
        with self._claim_lock:
            for attempt in range(SUFFIX_ATTEMPTS + 1):
                candidate = wanted if attempt == 0 else wanted + "-" + "".join(
                    secrets.choice(_SUFFIX_CHARS) for _ in range(4))
                directory = self.layout.checkout_dir(candidate)
                try:
                    directory.parent.mkdir(parents=True, exist_ok=True)
                except (FileExistsError, NotADirectoryError):
                    raise SpecError(f"checkoutPath {wanted!r} runs through a file of another checkout") from None
                if not _inside(directory.parent, self.layout.checkouts):
                    raise SpecError(f"checkoutPath {wanted!r} leads outside the checkout folder")
                try:
                    directory.mkdir()
                except FileExistsError:
                    continue
                return candidate, directory
        raise CheckoutExists(f"checkout {wanted!r} exists, and so did {SUFFIX_ATTEMPTS} variants with a suffix")

    def _link(self, directory: Path, spec: FileSpec) -> str:
        link = directory.joinpath(*spec.path.split("/"))
        link.parent.mkdir(parents=True, exist_ok=True)
        if not _inside(link.parent, directory):
            raise SpecError(f"file path {spec.path!r} leads outside the checkout")
        blob = self.layout.blob_path(spec.key)
        try:
            return self.linker.link(blob, link)
        except FileExistsError:
            if same_target(blob, link):
                log.warning("checkout %s: %s was already linked", directory, spec.path)
                return "existing"
            raise SpecError(f"file path {spec.path!r} exists in the checkout with other contents") from None

    def remove(self, checkout_id: str) -> bool:
        """Remove a job's checkout and its empty parents; False when there was none.

        Blobs stay in the store; the garbage collector removes them once unused and old.
        """
        relative = check_checkout_path(checkout_id)
        directory = self.layout.checkout_dir(relative)
        if not os.path.lexists(directory):
            return False
        if directory.is_symlink() or not _inside(directory.parent, self.layout.checkouts):
            raise SpecError(f"checkout {checkout_id!r} is not a folder inside the checkout root")
        _remove_tree(directory)
        remove_empty_dirs(directory.parent, self.layout.checkouts)
        log.info("removed checkout %s", relative)
        return True


def _remove_tree(directory: Path) -> None:
    """rmtree that removes links without following them (shutil's default)."""
    if directory.is_symlink():
        directory.unlink()
    elif directory.exists():
        shutil.rmtree(directory)
