"""Sending a packed job to the Manager's Shaman: only what it lacks (no bpy).

1. Hash every file (cached by size and mtime, so unchanged files are not
   read again), and ask the Manager which files it still needs.
2. Upload those: missing ones first, ones someone else is uploading last,
   each list shuffled so artists of one project collide less. A file another
   client is uploading may be deferred once; it is tried again next round.
3. Repeat until nothing is missing, then ask for the checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manager_api import ManagerClient, ManagerError

MAX_ROUNDS = 50
MAX_DEFERRED_PER_ROUND = 8
MAX_FAILURES_PER_FILE = 3
HASH_CACHE_MAX_AGE_S = 60 * 24 * 3600


class ShamanError(ManagerError):
    """The upload or checkout could not be completed."""


@dataclass(frozen=True)
class PackedFile:
    """A file of the pack: where it is on this computer, where it goes in the checkout."""

    local: Path
    checkout_path: str  # relative, with / separators


@dataclass
class TransferReport:
    checkout_path: str = ""
    files: int = 0
    uploaded_files: int = 0
    uploaded_bytes: int = 0
    already_stored: int = 0
    missing: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.uploaded_files} of {self.files} files uploaded ({self.uploaded_bytes / 1e6:.1f} MB), "
                f"{self.files - self.uploaded_files} already on the farm")


class HashCache:
    """SHA-256 of local files, remembered by path, size and mtime in one JSON file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path is not None:
            try:
                self.entries = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                self.entries = {}

    def checksum(self, local: Path) -> tuple[str, int]:
        st = local.stat()
        key = str(local)
        entry = self.entries.get(key)
        if entry and entry.get("size") == st.st_size and abs(entry.get("mtime", 0) - st.st_mtime) < 0.01:
            entry["used"] = time.time()
            return entry["sha"], st.st_size
        digest = hashlib.sha256()
        with local.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        sha = digest.hexdigest()
        self.entries[key] = {"sha": sha, "size": st.st_size, "mtime": st.st_mtime, "used": time.time()}
        return sha, st.st_size

    def forget(self, local: Path) -> None:
        self.entries.pop(str(local), None)

    def save(self) -> None:
        if self.path is None:
            return
        cutoff = time.time() - HASH_CACHE_MAX_AGE_S
        kept = {k: v for k, v in self.entries.items() if v.get("used", 0) >= cutoff}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_suffix(".tmp")
            temp.write_text(json.dumps(kept), "utf-8")
            os.replace(temp, self.path)
        except OSError:
            pass  # a cache; losing it only costs time


Progress = Callable[[str, float], None]


class ShamanUploader:
    def __init__(self, client: ManagerClient, hash_cache: HashCache | None = None,
                 progress: Progress | None = None, rng: random.Random | None = None) -> None:
        self.client = client
        self.hashes = hash_cache or HashCache(None)
        self.progress = progress or (lambda _text, _fraction: None)
        self.rng = rng or random.Random()

    def send(self, files: list[PackedFile], checkout_path: str) -> TransferReport:
        """Upload what the Manager lacks and create the checkout; raises ManagerError."""
        report = TransferReport()
        specs, by_path = self._specs(files, report)
        report.files = len(specs)
        deferred_before: set[str] = set()
        failures: dict[str, int] = {}
        changed: set[str] = set()

        for _round in range(MAX_ROUNDS):
            for spec in specs:
                if spec["path"] in changed:  # failed verification: the file changed after hashing
                    spec["sha"], spec["size"] = self.hashes.checksum(by_path[spec["path"]].local)
            changed.clear()
            needed = self.client.shaman_requirements(specs)
            if not needed:
                break
            unknown_paths = [item["path"] for item in needed if item["path"] not in by_path]
            if unknown_paths:
                raise ShamanError(f"the Manager asked for {unknown_paths[0]!r}, which is not part of this job")
            first = [item for item in needed if item["status"] != "uploading"]
            last = [item for item in needed if item["status"] == "uploading"]
            self.rng.shuffle(first)
            self.rng.shuffle(last)
            queue = first + last
            deferred_now = 0
            for index, item in enumerate(queue):
                self.progress(f"Uploading {item['path']}", index / max(1, len(queue)))
                can_defer = (index < len(queue) - 1 and deferred_now < MAX_DEFERRED_PER_ROUND
                             and item["path"] not in deferred_before)
                outcome = self._upload(item, by_path[item["path"]], can_defer, failures)
                if outcome == 425:
                    deferred_now += 1
                    deferred_before.add(item["path"])
                elif outcome == 417:
                    changed.add(item["path"])
                elif outcome == 200:
                    report.uploaded_files += 1
                    report.uploaded_bytes += item["size"]
        else:
            raise ShamanError(f"Giving up after {MAX_ROUNDS} rounds of uploads; the Manager still lacks files")

        self.hashes.save()
        self.progress("Creating the checkout on the Manager", 1.0)
        report.checkout_path = self.client.shaman_checkout(specs, checkout_path)
        return report

    def _specs(self, files: list[PackedFile], report: TransferReport) -> tuple[list[dict], dict[str, PackedFile]]:
        specs, by_path = [], {}
        for index, packed in enumerate(files):
            if packed.checkout_path in by_path:
                continue  # BAT can list a file twice (UDIM tiles)
            self.progress(f"Checking {packed.local.name}", index / max(1, len(files)))
            try:
                sha, size = self.hashes.checksum(packed.local)
            except FileNotFoundError:
                report.missing.append(packed.local)
                continue
            specs.append({"sha": sha, "size": size, "path": packed.checkout_path})
            by_path[packed.checkout_path] = packed
        return specs, by_path

    def _upload(self, item: dict[str, Any], packed: PackedFile, can_defer: bool, failures: dict[str, int]) -> int:
        sha, size = item["sha"], item["size"]
        if self.client.shaman_file_status(sha, size) == "stored":
            return 208
        try:
            with packed.local.open("rb") as stream:
                return self.client.shaman_upload(sha, size, stream, can_defer=can_defer,
                                                 filename=packed.local.name)
        except ManagerError as exc:
            if exc.status is None:
                raise
            if exc.status != 417:
                raise ShamanError(f"Error from Shaman, code {exc.status}: {exc.message}", exc.status) from None
            # The file changed after it was hashed: hash it again next round.
            failures[item["path"]] = failures.get(item["path"], 0) + 1
            if failures[item["path"]] >= MAX_FAILURES_PER_FILE:
                raise ShamanError(f"{packed.local} keeps changing while it is uploaded: {exc.message}",
                                  417) from None
            self.hashes.forget(packed.local)
            return 417
