"""The Worker's life once signed on: awake (running tasks) or asleep, until told to stop.

`WorkerLoop.run` follows the Manager's status requests (see `states.react`)
and returns the exit code when the Manager asks the Worker to go offline or
restart; the CLI's signal handling stops it through `stop`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from .client import ManagerClient, Unreachable, error_text
from .config import WorkerConfig
from .executor import Services, TaskResult, run_task
from .registration import RegistrationError, Stopped, register_and_sign_on, sign_on
from .states import AFTER_TASK_S, ASLEEP_POLL_S, FETCH_DELAY_S, Next, Run, after_fetch, jitter, react

log = logging.getLogger("flamenco.worker")


@dataclass
class Timing:
    """Upstream's waits; tests may shorten them."""

    fetch_delay_s: float = FETCH_DELAY_S
    after_task_s: float = AFTER_TASK_S
    asleep_poll_s: float = ASLEEP_POLL_S
    scale: float = 1.0  # multiplies every wait, including the ones `after_fetch` decides


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

    def _awake(self) -> str | None:
        """Fetch and run tasks until the Manager wants another status."""
        while True:
            if self._wait(self.timing.fetch_delay_s):
                return None
            try:
                resp = self.client.call("POST", "task")
                code: int | None = resp.status_code
            except Unreachable as exc:
                log.warning("cannot reach the Manager for a task, trying again in a minute: %s", exc)
                resp, code = None, None
            decision = after_fetch(code)
            if decision.next is Next.RUN_TASK:
                assert resp is not None
                result = self._run(resp.json())
                if self.stop.is_set():
                    return None
                if result.state_change_requested:
                    log.info("the Manager wants a status change; asking it which")
                if self._wait(self.timing.after_task_s):
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
                    log.debug("no task available")
                if self._wait(decision.wait_s):
                    return None

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

