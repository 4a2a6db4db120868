"""Where Shaman keeps things under the shared storage (pure path arithmetic).

    {shared}/file-store/stored/{sha[:2]}/{sha[2:]}/{size}.blob        verified files
    {shared}/file-store/uploading/{sha[:2]}/{sha[2:]}/{size}-{r}.tmp  uploads in progress
    {shared}/jobs/{checkoutPath}/...                                 checkouts

The same layout as upstream Flamenco, so a store can be moved between the two.
The root is resolved once (`realpath`), so comparing link targets with walked
paths also works when the shared storage path itself contains a symlink.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .specs import BlobKey

BLOB_SUFFIX = ".blob"
UPLOAD_SUFFIX = ".tmp"


@dataclass(frozen=True)
class Layout:
    root: Path  # the shared storage path, resolved

    @classmethod
    def for_shared_storage(cls, shared_storage_path: str) -> "Layout":
        return cls(Path(os.path.realpath(os.path.expanduser(shared_storage_path))))

    @property
    def file_store(self) -> Path:
        return self.root / "file-store"

    @property
    def stored(self) -> Path:
        return self.file_store / "stored"

    @property
    def uploading(self) -> Path:
        return self.file_store / "uploading"

    @property
    def checkouts(self) -> Path:
        return self.root / "jobs"

    def blob_dir(self, key: BlobKey) -> Path:
        return self.stored / key.sha[:2] / key.sha[2:]

    def blob_path(self, key: BlobKey) -> Path:
        return self.blob_dir(key) / f"{key.size}{BLOB_SUFFIX}"

    def upload_dir(self, key: BlobKey) -> Path:
        return self.uploading / key.sha[:2] / key.sha[2:]

    def upload_glob(self, key: BlobKey) -> str:
        return f"{key.size}-*{UPLOAD_SUFFIX}"

    def checkout_dir(self, checkout_path: str) -> Path:
        """The directory of a checkout; `checkout_path` must be validated already."""
        return self.checkouts.joinpath(*checkout_path.split("/"))


def blob_key_from_path(stored_root: Path, blob: Path) -> BlobKey | None:
    """Reverse of Layout.blob_path, for the garbage collector; None for stray files."""
    try:
        rel = blob.relative_to(stored_root)
    except ValueError:
        return None
    parts = rel.parts
    if len(parts) != 3 or not parts[2].endswith(BLOB_SUFFIX):
        return None
    size_text = parts[2][: -len(BLOB_SUFFIX)]
    if not size_text.isdigit():
        return None
    return BlobKey(parts[0] + parts[1], int(size_text))
