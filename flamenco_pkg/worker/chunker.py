"""Groups a command's output lines into log updates.

One update per line would flood the Manager; one per task would show nothing
until the end. Like upstream, a chunk goes out once it holds more than 10 KiB
or 30 s have passed since the last one (checked when a line arrives), and the
rest when the command ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MAX_BYTES = 10240
MAX_AGE_S = 30.0


class LogChunker:
    def __init__(self, send: Callable[[str], None], *, max_bytes: int = MAX_BYTES, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._max_bytes = max_bytes
        self._max_age_s = max_age_s
        self._clock = clock
        self._parts: list[str] = []
        self._size = 0
        self._last_flush = clock()

    def add(self, line: str) -> None:
        """Buffer one line; send the buffer if it is now too big or too old."""
        text = line + "\n"
        self._parts.append(text)
        self._size += len(text.encode("utf-8", "replace"))
        if self._size > self._max_bytes or self._clock() - self._last_flush > self._max_age_s:
            self.flush()

    def flush(self) -> None:
        """Send whatever is buffered (nothing if empty). The sender's errors propagate."""
        self._last_flush = self._clock()
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts, self._size = [], 0
        self._send(text)
