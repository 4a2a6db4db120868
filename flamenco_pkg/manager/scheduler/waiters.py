"""Held "give me a task" requests (long-poll), parked as greenlets and woken one at a time.

A Worker that asks for a task when none is runnable may be held until one
becomes runnable for it. Held requests cost one parked greenlet each, no
thread and no polling of the database. When work may have appeared,
`work_available` starts a *chain*: the longest-waiting request tries first;
whether it gets a task or not, it hands the wake-up on to the next request
that has not tried since the signal. So one runnable task is taken by one
Worker, the other held requests never wake together (no thundering herd),
and a request whose Worker cannot take the work (tags, task types) does not
stop the signal from reaching one that can. A signal arriving while a chain
runs makes every request eligible again, so it is never lost; each request
still tries at most once per signal it has not yet seen.

A held request ends early in two ways, whichever suits the caller:
- `cancelled`, an optional callable passed to `wait`, is asked every
  `cancel_poll_s` seconds (1 s by default) and after every wake-up; True ends
  the wait with None. Use it for a client that disconnected; a caller that is
  told of the disconnect can `release` the Worker to end the wait at once.
- Killing the waiting greenlet (`greenlet.kill()`, raising GreenletExit in
  `wait`) is safe too: the request leaves the registry and, if the chain was
  at it, hands the chain on.

Everything here runs on the gevent hub's thread: call `work_available`,
`release` and `release_all` from greenlets, not from other OS threads.
This module knows nothing of HTTP or SQL; `try_pick` does the real work.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from gevent.event import Event

T = TypeVar("T")

CANCEL_POLL_S = 1.0


class _Held:
    """One held request."""

    __slots__ = ("worker_id", "tried_gen", "woken")

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id
        self.tried_gen = -1     # the signal generation current when its last try started
        self.woken = Event()


class Waiters:
    """Registry of held requests; see the module docstring for the chain rules."""

    def __init__(self, cancel_poll_s: float = CANCEL_POLL_S,
                 work_left: Callable[[], bool] | None = None) -> None:
        """`work_left()` (optional) says whether anything at all is runnable; when a
        try finds nothing and neither is there anything for anyone, the chain
        ends there instead of visiting every held request."""
        self.cancel_poll_s = cancel_poll_s
        self.work_left = work_left
        self._held: dict[_Held, None] = {}      # insertion order = arrival order
        self._by_worker: dict[int, set[_Held]] = {}
        self._gen = 0                           # bumped by every work_available()
        self._baton: _Held | None = None        # the request the chain is at, if a chain runs
        self._todo: deque[_Held] = deque()      # the chain's next candidates, oldest first
        self._todo_gen = -1                     # the generation `_todo` was built for
        self._closed = False

    @property
    def held(self) -> int:
        """Requests currently inside `wait` (parked or trying)."""
        return len(self._held)

    def wait(self, worker_id: int, timeout: float, try_pick: Callable[[], T | None],
             cancelled: Callable[[], bool] | None = None) -> T | None:
        """`try_pick()` now and again after each wake-up until it gives a result; None at the timeout.

        After `release_all` nothing is held any more: one try, and its result.
        """
        if self._closed:
            return try_pick()
        deadline = time.monotonic() + timeout
        me = _Held(worker_id)
        self._held[me] = None
        self._by_worker.setdefault(worker_id, set()).add(me)
        try:
            while True:
                me.tried_gen = self._gen
                me.woken.clear()  # a wake-up during the try below makes the next park return at once
                result = try_pick()
                if result is not None:
                    return result
                if self._baton is me:
                    if self.work_left is not None and not self.work_left():
                        self._end_chain()
                    else:
                        self._pass_baton()
                if not self._park(me, deadline, cancelled):
                    return None
                if cancelled is not None and cancelled():  # woken by `release` because it went away
                    return None
        finally:
            del self._held[me]
            same = self._by_worker[worker_id]
            same.discard(me)
            if not same:
                del self._by_worker[worker_id]
            if self._baton is me:
                self._pass_baton()

    def _park(self, me: _Held, deadline: float, cancelled: Callable[[], bool] | None) -> bool:
        """Sleep until woken (True) or until the timeout, cancellation or shutdown (False)."""
        while True:
            if self._closed:
                return False
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if me.woken.wait(left if cancelled is None else min(left, self.cancel_poll_s)):
                return not self._closed
            if cancelled is not None and cancelled():
                return False

    def work_available(self) -> None:
        """Work may have become runnable: start a chain, or widen the running one to everyone."""
        self._gen += 1
        if self._baton is None:
            self._pass_baton()

    def release(self, worker_id: int) -> None:
        """Wake this Worker's held requests so they try again now (e.g. a status change was requested)."""
        for held in self._by_worker.get(worker_id, ()):
            held.woken.set()

    def release_all(self) -> None:
        """Shutdown: every held request returns None now, and later requests are not held."""
        self._closed = True
        for held in self._held:
            held.woken.set()

    def _end_chain(self) -> None:
        """Nothing is runnable for anyone: the rest of the chain would find nothing either."""
        self._baton = None
        self._todo.clear()
        self._todo_gen = self._gen

    def _pass_baton(self) -> None:
        """Wake the longest-waiting request that has not tried since the last signal; none: the chain ends."""
        if self._todo_gen != self._gen:
            self._todo = deque(held for held in self._held if held.tried_gen < self._gen)
            self._todo_gen = self._gen
        while self._todo:
            nxt = self._todo.popleft()
            if nxt in self._held and nxt.tried_gen < self._gen:
                self._baton = nxt
                nxt.woken.set()
                return
        self._baton = None
