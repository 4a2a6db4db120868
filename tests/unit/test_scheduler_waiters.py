"""Held task requests with real greenlets: one task wakes one Worker, signals are never lost, nothing spins."""

from __future__ import annotations

import time

import gevent
import pytest
from gevent.event import Event

from flamenco_pkg.manager.scheduler.waiters import Waiters

LONG = 30.0  # a hold no test should reach; tests end their greenlets themselves


def until(predicate, deadline_s: float = 5.0, what: str = "condition") -> None:
    """Let other greenlets run until `predicate()` holds."""
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        gevent.sleep(0.001)


class Farm:
    """Runnable tasks as a list; one picker per Worker, counting its tries."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, str]] = []   # (name, tag)
        self.tries: dict[int, int] = {}
        self.requests: dict[int, str] = {}       # worker -> requested status, like a 423
        self.trying = 0                          # picks running right now
        self.most_at_once = 0

    def picker(self, worker: int, tag: str = ""):
        self.tries.setdefault(worker, 0)

        def try_pick():
            self.tries[worker] += 1
            self.trying += 1
            self.most_at_once = max(self.most_at_once, self.trying)
            try:
                gevent.sleep(0)  # a real pick yields (database lock): let a herd show itself
                return pick()
            finally:
                self.trying -= 1

        def pick():
            if worker in self.requests:
                return f"status:{self.requests.pop(worker)}"
            for i, (name, task_tag) in enumerate(self.tasks):
                if task_tag in ("", tag):
                    del self.tasks[i]
                    return name
            return None
        return try_pick


@pytest.fixture
def spawned():
    greenlets: list[gevent.Greenlet] = []
    yield greenlets
    gevent.killall(greenlets, timeout=2)


def hold(waiters: Waiters, farm: Farm, spawned: list, worker: int, tag: str = "", timeout: float = LONG,
         **kw) -> gevent.Greenlet:
    g = gevent.spawn(waiters.wait, worker, timeout, farm.picker(worker, tag), **kw)
    spawned.append(g)
    until(lambda: farm.tries.get(worker) == 1, what=f"worker {worker}'s first try")
    return g


def test_a_request_with_work_waiting_returns_at_once_without_being_held():
    waiters, farm = Waiters(), Farm()
    farm.tasks.append(("t1", ""))
    assert waiters.wait(1, LONG, farm.picker(1)) == "t1"
    assert waiters.held == 0 and farm.tries[1] == 1


def test_nothing_to_do_returns_none_at_the_timeout_after_a_single_try():
    waiters, farm = Waiters(), Farm()
    began = time.monotonic()
    assert waiters.wait(1, 0.2, farm.picker(1)) is None
    assert time.monotonic() - began >= 0.2
    assert farm.tries[1] == 1  # parked, not polling
    assert waiters.held == 0


def test_two_held_one_task_one_gets_it_the_other_stays_held(spawned):
    waiters, farm = Waiters(), Farm()
    first = hold(waiters, farm, spawned, 1)
    second = hold(waiters, farm, spawned, 2, timeout=1.0)
    assert waiters.held == 2

    farm.tasks.append(("t1", ""))
    waiters.work_available()
    first.join(timeout=5)
    assert first.dead and first.value == "t1"  # the longest-waiting request is asked first
    until(lambda: farm.tries[2] == 2, what="the chain to reach the second request")
    assert not second.dead and waiters.held == 1  # tried once for this signal, found nothing, parked again

    second.join(timeout=5)
    assert second.value is None
    assert farm.tries == {1: 2, 2: 2}


def test_one_task_among_many_held_requests_wakes_each_at_most_once(spawned):
    waiters, farm = Waiters(), Farm()
    held = [hold(waiters, farm, spawned, w) for w in range(1, 51)]
    farm.tasks.append(("t1", ""))
    waiters.work_available()
    until(lambda: all(farm.tries[w] == 2 for w in range(1, 51)), what="the chain to reach everyone")
    winners = [g for g in held if g.dead]
    assert [g.value for g in winners] == ["t1"]
    assert waiters.held == 49
    assert max(farm.tries.values()) == 2
    assert farm.most_at_once == 1  # woken one after the other, never together


def test_the_chain_goes_on_after_a_taker_so_two_tasks_reach_two_workers(spawned):
    waiters, farm = Waiters(), Farm()
    g1, g2, g3 = (hold(waiters, farm, spawned, w) for w in (1, 2, 3))
    farm.tasks += [("t1", ""), ("t2", "")]
    waiters.work_available()
    gevent.joinall([g1, g2], timeout=5)
    assert (g1.value, g2.value) == ("t1", "t2")
    until(lambda: farm.tries[3] == 2, what="the third request's try")
    assert not g3.dead


def test_a_worker_that_cannot_take_the_task_passes_the_wake_on(spawned):
    waiters, farm = Waiters(), Farm()
    untagged = hold(waiters, farm, spawned, 1, tag="")
    tagged = hold(waiters, farm, spawned, 2, tag="gpu")
    farm.tasks.append(("gpu-task", "gpu"))
    waiters.work_available()
    tagged.join(timeout=5)
    assert tagged.value == "gpu-task"
    assert farm.tries[1] == 2 and not untagged.dead


def test_a_signal_during_the_only_waiters_try_is_not_lost(spawned):
    """The try that ran while the task was being committed missed it; the signal must bring another try."""
    waiters, farm = Waiters(), Farm()
    inside, gate = Event(), Event()
    plain = farm.picker(1)

    def slow_second_try():
        if farm.tries[1] == 1:  # this is the second try: the chain's
            missed = plain()
            inside.set()
            gate.wait()
            return missed
        return plain()

    farm.tries[1] = 0
    g = gevent.spawn(waiters.wait, 1, LONG, slow_second_try)
    spawned.append(g)
    until(lambda: farm.tries[1] == 1, what="first try")
    waiters.work_available()           # a signal with nothing for it (another Worker took that task)
    inside.wait(timeout=5)             # the request is in its second try and has seen no task
    farm.tasks.append(("t1", ""))
    waiters.work_available()           # arrives mid-try
    gate.set()
    g.join(timeout=5)
    assert g.value == "t1"
    assert farm.tries[1] == 3


def test_a_signal_during_a_chain_reaches_the_requests_already_passed(spawned):
    waiters, farm = Waiters(), Farm()
    inside, gate = Event(), Event()
    g1 = hold(waiters, farm, spawned, 1)
    plain2 = farm.picker(2)

    def gated():
        if farm.tries[2] == 1:
            inside.set()
            gate.wait()
        return plain2()

    farm.tries[2] = 0
    g2 = gevent.spawn(waiters.wait, 2, LONG, gated)
    spawned.append(g2)
    until(lambda: farm.tries[2] == 1, what="second request's first try")

    waiters.work_available()                       # chain: 1 finds nothing, passes to 2, which stalls
    inside.wait(timeout=5)
    assert farm.tries[1] == 2
    farm.tasks += [("t1", ""), ("t2", "")]
    waiters.work_available()                       # both tasks came after 1 had tried
    gate.set()
    gevent.joinall([g1, g2], timeout=5)
    assert sorted([g1.value, g2.value]) == ["t1", "t2"]


def test_release_wakes_only_that_workers_request(spawned):
    waiters, farm = Waiters(), Farm()
    g1 = hold(waiters, farm, spawned, 1)
    g2 = hold(waiters, farm, spawned, 2)
    farm.requests[1] = "asleep"
    waiters.release(1)
    g1.join(timeout=5)
    assert g1.value == "status:asleep"
    assert farm.tries == {1: 2, 2: 1} and not g2.dead and waiters.held == 1


def test_release_without_a_reason_parks_the_request_again(spawned):
    waiters, farm = Waiters(), Farm()
    g = hold(waiters, farm, spawned, 1)
    waiters.release(1)
    until(lambda: farm.tries[1] == 2, what="the released try")
    assert not g.dead and waiters.held == 1
    waiters.release(99)  # a Worker with nothing held: nothing happens
    assert waiters.held == 1


def test_release_all_ends_every_held_request_and_later_ones_are_not_held(spawned):
    waiters, farm = Waiters(), Farm()
    held = [hold(waiters, farm, spawned, w) for w in (1, 2, 3)]
    waiters.release_all()
    gevent.joinall(held, timeout=5)
    assert [g.value for g in held] == [None, None, None]
    assert waiters.held == 0 and farm.tries == {1: 1, 2: 1, 3: 1}

    began = time.monotonic()
    assert waiters.wait(4, LONG, farm.picker(4)) is None
    assert time.monotonic() - began < 5 and farm.tries[4] == 1
    farm.tasks.append(("t1", ""))
    assert waiters.wait(5, LONG, farm.picker(5)) == "t1"


def test_cancelled_ends_the_hold_and_is_asked_at_the_poll_interval_without_extra_tries(spawned):
    waiters, farm = Waiters(cancel_poll_s=0.02), Farm()
    asked = []
    gone = Event()

    def cancelled():
        asked.append(time.monotonic())
        return gone.is_set()

    g = hold(waiters, farm, spawned, 1, cancelled=cancelled)
    until(lambda: len(asked) >= 3, what="a few cancellation checks")
    gone.set()
    g.join(timeout=5)
    assert g.dead and g.value is None and waiters.held == 0
    assert farm.tries[1] == 1  # checking for a disconnect never re-runs the pick


def test_killing_the_greenlet_the_chain_is_at_hands_the_chain_on(spawned):
    waiters, farm = Waiters(), Farm()
    inside = Event()
    plain1 = farm.picker(1)

    def stalls_when_woken():
        if farm.tries[1] == 1:
            inside.set()
            gevent.sleep(LONG)  # a client that went away while its request was being served
        return plain1()

    farm.tries[1] = 0
    g1 = gevent.spawn(waiters.wait, 1, LONG, stalls_when_woken)
    spawned.append(g1)
    until(lambda: farm.tries[1] == 1, what="first try")
    g2 = hold(waiters, farm, spawned, 2)

    farm.tasks.append(("t1", ""))
    waiters.work_available()
    inside.wait(timeout=5)
    g1.kill()
    g2.join(timeout=5)
    assert g2.value == "t1" and waiters.held == 0


def test_a_failing_pick_raises_to_its_caller_and_hands_the_chain_on(spawned):
    waiters, farm = Waiters(), Farm()
    plain1 = farm.picker(1)

    def breaks_when_woken():
        if farm.tries[1] == 1:
            farm.tries[1] += 1
            raise RuntimeError("database is locked")
        return plain1()

    farm.tries[1] = 0
    g1 = gevent.spawn(waiters.wait, 1, LONG, breaks_when_woken)
    spawned.append(g1)
    until(lambda: farm.tries[1] == 1, what="first try")
    g2 = hold(waiters, farm, spawned, 2)
    farm.tasks.append(("t1", ""))
    waiters.work_available()
    gevent.joinall([g1, g2], timeout=5)
    assert isinstance(g1.exception, RuntimeError)
    assert g2.value == "t1"


def test_signals_with_nobody_held_cost_nothing_and_many_signals_bring_one_try_each(spawned):
    waiters, farm = Waiters(), Farm()
    for _ in range(5):
        waiters.work_available()
    g = hold(waiters, farm, spawned, 1)
    for _ in range(5):
        waiters.work_available()   # all before the request gets to run: one try covers them all
    until(lambda: farm.tries[1] == 2, what="the try for the signals")
    gevent.sleep(0.05)             # give a wrongly repeated wake-up the chance to show
    assert farm.tries[1] == 2 and not g.dead
