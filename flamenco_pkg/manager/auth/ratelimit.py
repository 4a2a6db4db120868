"""Failed logins per client address: after 5 in a minute, wait (pure; the clock is handed in)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(self, max_failures: int = 5, window_s: float = 60.0, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int:
        """Seconds this address must wait before trying again; 0 when it may try now."""
        times = self._recent(address)
        if times is None or len(times) < self.max_failures:
            return 0
        return max(1, math.ceil(times[0] + self.window_s - self.clock()))

    def failed(self, address: str) -> None:
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            for other in list(self._failures)[: self.max_addresses // 10]:  # forget the oldest tenth
                self._recent(other)
                self._failures.pop(other, None)
        self._failures.setdefault(address, deque(maxlen=self.max_failures)).append(self.clock())

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
