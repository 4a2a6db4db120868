"""Receiving one upload: stream to a temp file, verify, commit; cope with twins.

Several clients may upload the same file at once (artists of one project
submitting together). Each upload writes its own temp file. The first to
finish and pass verification moves its file into the store and only then
tells the others, which stop reading and answer "already stored". An upload
that fails verification tells nobody, so the others carry on (upstream also
woke them on failure, leaving nothing stored).
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import BinaryIO

from .filestore import STORED, UPLOADING, FileStore
from .specs import BlobKey

log = logging.getLogger("flamenco.shaman")

CHUNK_SIZE = 256 * 1024


class Outcome(enum.Enum):
    STORED = 200  # this upload is now the stored file
    ALREADY_STORED = 208  # someone else's upload is (or was already) the stored file
    DEFER = 425  # someone else is uploading and the client offered to come back later


class UploadRejected(Exception):
    """The received data does not match the checksum or size in the URL (HTTP 417)."""


@dataclass
class _Twins:
    """Uploads of one blob running in this process, and the signal that it is stored."""

    stored: threading.Event = field(default_factory=threading.Event)
    active: int = 0


class Uploads:
    """Entry point for uploads; one per store, shared by all requests of the process."""

    def __init__(self, store: FileStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._twins: dict[BlobKey, _Twins] = {}

    def receive(self, key: BlobKey, body: BinaryIO, *, content_length: int | None, can_defer: bool,
                origin: str = "") -> Outcome:
        """Store the body as blob `key`, unless it is stored already or the client may defer.

        `body.read(n)` must return b"" at the end of the body. Raises
        UploadRejected on a size or checksum mismatch; nothing is kept then.
        """
        status = self.store.status(key)
        if status == STORED:
            self.store.touch(key)
            log.debug("upload of %s%s skipped: already stored", key.short(), origin)
            return Outcome.ALREADY_STORED
        if status == UPLOADING and can_defer:
            log.debug("upload of %s%s deferred: another upload is running", key.short(), origin)
            return Outcome.DEFER
        if content_length is not None and content_length != key.size:
            raise UploadRejected(f"the request body has {content_length} bytes, but the URL says {key.size}")

        twins = self._join(key)
        try:
            return self._receive(key, body, twins, origin)
        finally:
            self._leave(key, twins)

    def _receive(self, key: BlobKey, body: BinaryIO, twins: _Twins, origin: str) -> Outcome:
        temp, fd = self.store.new_upload_file(key)
        committed = False
        try:
            with os.fdopen(fd, "wb") as out:
                result = self._copy(key, body, out, twins)
            if result is None:
                log.info("upload of %s%s stopped: another upload of the same file finished first",
                         key.short(), origin)
                return Outcome.ALREADY_STORED
            received, digest = result
            if received != key.size:
                raise UploadRejected(f"received {received} bytes, but the URL says {key.size}")
            if digest != key.sha:
                raise UploadRejected(f"the SHA-256 of the received data is {digest}, but the URL says {key.sha}")
            if self.store.is_stored(key):
                # A twin in another process won while we were verifying; same bytes, keep theirs.
                self.store.touch(key)
                return Outcome.ALREADY_STORED
            self.store.commit(temp, key)
            committed = True
            twins.stored.set()
            log.info("stored %s (%d bytes)%s", key.short(), key.size, origin)
            return Outcome.STORED
        finally:
            if not committed:
                self.store.discard_upload(temp)

    def _copy(self, key: BlobKey, body: BinaryIO, out: BinaryIO, twins: _Twins) -> tuple[int, str] | None:
        """Copy while hashing; None when a twin stored the file meanwhile.

        Reads at most one byte more than the declared size, enough to tell
        that a body is too long without reading all of it.
        """
        hasher = hashlib.sha256()
        received = 0
        limit = key.size + 1
        while received < limit:
            if twins.stored.is_set() and self.store.is_stored(key):
                return None
            chunk = body.read(min(CHUNK_SIZE, limit - received))
            if not chunk:
                break
            received += len(chunk)
            hasher.update(chunk)
            out.write(chunk)
        return received, hasher.hexdigest()

    def _join(self, key: BlobKey) -> _Twins:
        with self._lock:
            twins = self._twins.setdefault(key, _Twins())
            twins.active += 1
            return twins

    def _leave(self, key: BlobKey, twins: _Twins) -> None:
        with self._lock:
            twins.active -= 1
            if twins.active == 0:
                self._twins.pop(key, None)
