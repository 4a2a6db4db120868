"""Giving the event loop a turn in the middle of long work.

`gevent.sleep(0)` is not enough: it only queues the caller behind the other
ready greenlets, and when the caller itself was woken from the loop's
callback queue, it is run again in the same round, before the loop looks at
its sockets. A Worker whose request is waiting to be read then waits for the
whole job. A timer, however short, makes the loop poll its sockets first.
"""

from __future__ import annotations

import gevent


def yield_to_event_loop() -> None:
    """Let other greenlets run, including those waiting for network input."""
    gevent.sleep(0.001)
