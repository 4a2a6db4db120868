"""The Worker's life once signed on: awake (running tasks) or asleep, until told to stop.

`WorkerLoop.run` follows the Manager's status requests (see `states.react`)
and returns the exit code when the Manager asks the Worker to go offline or
restart; the CLI's signal handling stops it through `stop`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .client import DEFAULT_TIMEOUT, ManagerClient, Unreachable, error_text
from .config import WorkerConfig
from .executor import Services, TaskResult, run_task
from .registration import RegistrationError, Stopped, register_and_sign_on, sign_on
from .states import (AFTER_TASK_S, ASLEEP_POLL_S, FETCH_DELAY_S, TASK_WAIT_S, Next, Run, after_fetch,
                     backs_off_after_task, jitter, react, task_request_timeout)

log = logging.getLogger("flamenco.worker")

WAIT_HEADER = "X-Flamenco-Wait"


@dataclass
class Timing:
    """The Worker's waits; tests may shorten them."""

    fetch_delay_s: float = FETCH_DELAY_S  # on waking up, and added to every back-off, before asking for a task
    after_task_s: float = AFTER_TASK_S    # back-off after a failed or abandoned task
    asleep_poll_s: float = ASLEEP_POLL_S
    task_wait_s: int = TASK_WAIT_S        # long-poll wait asked of the Manager; 0: none (upstream's request)
    scale: float = 1.0  # multiplies every wait, including the ones `after_fetch` decides (not task_wait_s)


class WorkerLoop:
    def __init__(self, client: ManagerClient, cfg: WorkerConfig, home: Path, services: Services,
                 stop: threading.Event, timing: Timing | None = None) -> None:
        self.client = client
        self.cfg = cfg
        self.home = home
        self.services = services
        self.stop = stop
        self.timing = timing or Timing()
        self.task_cancel: threading.Event | None = None  # set by the CLI on SIGINT/SIGTERM
        # Set while a "give me a task" may be held by the Manager: nothing to finish, so a
        # shutdown need not wait for the answer (sign-off hands back whatever it brings).
        self.held_request = threading.Event()
        self._lock = threading.Lock()

    def cancel_current_task(self) -> None:
        with self._lock:
            if self.task_cancel is not None:
                self.task_cancel.set()

    def run(self, status: str) -> int | None:
        """Follow status requests starting with `status`; exit code, or None when stopped."""
        while not self.stop.is_set():
            reaction = react(status, self.cfg.restart_exit_code)
            if reaction.warning:
                log.warning(reaction.warning)
            if reaction.run is Run.SHUTDOWN:
                log.info("the Manager asked this Worker to go %s", status)
                return reaction.exit_code
            if reaction.ack:
                self._ack(reaction.ack)
            try:
                if reaction.run is Run.TASKS:
                    next_status = self._awake()
                else:
                    next_status = self._asleep()
            except Stopped:
                return None
            except RegistrationError as exc:
                log.error("%s", exc)
                return 1
            if next_status is None:
                return None
            status = next_status
        return None

    def _ack(self, status: str) -> None:
        try:
            resp = self.client.call("POST", "state-changed", json={"status": status})
        except Unreachable as exc:
            log.warning("could not tell the Manager this Worker is %s: %s", status, exc)
            return
        if resp.status_code != 204:
            log.warning("the Manager did not accept status %s: %s", status, error_text(resp))
        else:
            log.info("Worker is %s", status)

    def _wait(self, seconds: float) -> bool:
        """Sleep, jittered; True when the Worker must stop."""
        return self.stop.wait(jitter(seconds * self.timing.scale))

    def _back_off(self, seconds: float) -> bool:
        """Upstream's pause before asking for a task again; True when the Worker must stop."""
        return self._wait(seconds) or self._wait(self.timing.fetch_delay_s)

    def _ask_for_task(self) -> tuple[requests.Response | None, float]:
        """`POST task`, long-polling if configured: (reply or None if unreachable, seconds held)."""
        wait_s = self.timing.task_wait_s
        kwargs: dict = {}
        if wait_s > 0:
            kwargs = {"headers": {WAIT_HEADER: str(int(wait_s))},
                      "timeout": task_request_timeout(wait_s, DEFAULT_TIMEOUT)}
            self.held_request.set()
        began = time.monotonic()
        try:
            resp = self.client.call("POST", "task", **kwargs)
        except Unreachable as exc:
            log.warning("cannot reach the Manager for a task, trying again in a minute: %s", exc)
            return None, 0.0
        finally:
            self.held_request.clear()
        return resp, (time.monotonic() - began if wait_s > 0 else 0.0)

    def _awake(self) -> str | None:
        """Fetch and run tasks until the Manager wants another status.

        Upstream's fetch delay comes once, on waking up. After that there is no pause
        between tasks: a task's result is delivered, then the next task is asked for at
        once. Pauses (back-offs) come only after errors, failed tasks, and a 204 that was
        not held.
        """
        if self._wait(self.timing.fetch_delay_s):
            return None
        while True:
            resp, held_s = self._ask_for_task()
            decision = after_fetch(resp.status_code if resp is not None else None, held_s)
            if decision.next is Next.RUN_TASK:
                assert resp is not None
                result = self._run(resp.json())
                if self.stop.is_set():
                    return None
                if result.state_change_requested:
                    log.info("the Manager wants a status change; asking it which")
                if backs_off_after_task(result.outcome.value, self._results_delivered()):
                    if self._back_off(self.timing.after_task_s):
                        return None
            elif decision.next is Next.CHANGE_STATE:
                assert resp is not None
                return str(resp.json().get("status_requested", ""))
            elif decision.next is Next.REGISTER_AGAIN:
                log.warning("the Manager refused this Worker's credentials; registering anew")
                return register_and_sign_on(self.client, self.cfg, self.home, self.stop)
            elif decision.next is Next.SIGN_ON_AGAIN:
                assert resp is not None
                log.warning("the Manager gives no tasks (%s); signing on again in a minute", error_text(resp))
                if self._wait(decision.wait_s):
                    return None
                return self._sign_on_again()
            else:
                if resp is not None and resp.status_code != 204:
                    log.warning("the Manager could not hand out a task: %s", error_text(resp))
                elif resp is not None:
                    log.debug("no task available%s", f" after waiting {held_s:.0f} s" if held_s else "")
                if decision.wait_s and self._back_off(decision.wait_s):
                    return None

    def _results_delivered(self) -> bool:
        """True when no task update waits in the offline buffer (after one attempt to deliver them)."""
        buffer = self.services.buffer
        if buffer.count() == 0:
            return True
        return buffer.flush()

    def _sign_on_again(self) -> str:
        status = sign_on(self.client, self.cfg, self.stop)
        if status is None:
            return register_and_sign_on(self.client, self.cfg, self.home, self.stop)
        return status

    def _run(self, task: dict) -> TaskResult:
        cancel = threading.Event()
        with self._lock:
            self.task_cancel = cancel
            if self.stop.is_set():
                cancel.set()
        try:
            return run_task(task, self.services, cancel)
        finally:
            with self._lock:
                self.task_cancel = None

    def _asleep(self) -> str | None:
        """Ask for a new status every few seconds until one comes."""
        while not self._wait(self.timing.asleep_poll_s):
            try:
                resp = self.client.call("GET", "state")
            except Unreachable as exc:
                log.debug("asleep; Manager unreachable: %s", exc)
                continue
            if resp.status_code == 200:
                return str(resp.json().get("status_requested", ""))
            if resp.status_code == 403:
                log.warning("the Manager refused this Worker's credentials; registering anew")
                return register_and_sign_on(self.client, self.cfg, self.home, self.stop)
        return None

