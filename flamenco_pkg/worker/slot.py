"""One Worker as the Manager sees it: sign-on, offline queue, task loop, preview uploads, sign-off.

The plain Worker is one slot; `-devices 0,1` runs one slot per GPU in the same
process. Slots share only the configuration and the process's stop event, so
each speaks upstream's protocol on its own, with its own credentials.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from .buffer import BufferError, UpstreamBuffer
from .client import ManagerClient, Unreachable, error_text
from .config import WorkerConfig
from .devices import SlotPlan
from .executor import Services
from .loop import WorkerLoop
from .registration import RegistrationError, Stopped, start_session
from .slotlog import thread_name
from .tools import find_ffmpeg
from .uploader import LastRenderedUploader

log = logging.getLogger("flamenco.worker")

SIGN_OFF_TIMEOUT_S = 3.0
FINAL_FLUSH_S = 5.0
JOIN_LOOP_S = 10.0


class WorkerSlot:
    """Runs in its own thread; `code` is its exit code once `done` is set (None: stopped)."""

    def __init__(self, plan: SlotPlan, cfg: WorkerConfig, stop: threading.Event, flush_only: bool,
                 blender_args: tuple[str, ...], on_done: threading.Event) -> None:
        self.plan = plan
        self.cfg = dataclasses.replace(cfg, worker_name=plan.name)
        self.stop = stop
        self.flush_only = flush_only
        self.blender_args = blender_args
        self.on_done = on_done
        self.client = ManagerClient(cfg.manager_url)
        self.buffer: UpstreamBuffer | None = None
        self.uploader: LastRenderedUploader | None = None
        self.loop: WorkerLoop | None = None
        self.signed_on = False
        self.code: int | None = None
        self.done = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()
        self.thread = threading.Thread(target=self._main, name=thread_name(plan.label, "worker-loop"), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel_current_task(self) -> None:
        if self.loop is not None:
            self.loop.cancel_current_task()

    def _main(self) -> None:
        try:
            self.code = self._run()
            if self.code == 0 and not self.stop.is_set():
                self.close()  # sent offline (or -flush done): sign off now, the other slots go on
        except Exception:  # noqa: BLE001 — one slot's bug must not leave the process half alive
            log.exception("worker %s stopped on an internal error", self.plan.name)
            self.code = 1
        finally:
            self.done.set()
            self.on_done.set()

    def _run(self) -> int | None:
        if self.plan.temp_dir is not None:
            self.plan.temp_dir.mkdir(parents=True, exist_ok=True)
        try:
            status = start_session(self.client, self.cfg, self.plan.home, self.stop)
        except RegistrationError as exc:
            log.error("%s", exc)
            return 1
        except Stopped:
            return None
        self.signed_on = True
        try:
            self.buffer = buffer = UpstreamBuffer(self.plan.home / "flamenco-worker.sqlite", self.client)
        except BufferError as exc:
            log.error("cannot open the offline queue: %s", exc)
            return 1
        queued = buffer.count()
        if queued:
            log.info("delivering %d task updates queued while the Manager was away", queued)
            buffer.flush()
        if self.flush_only:
            return 0
        buffer.start()
        self.uploader = LastRenderedUploader(self.client)
        services = Services(client=self.client, buffer=buffer, offer_output=self.uploader.offer,
                            find_ffmpeg=find_ffmpeg, oom_score_adjust=self.cfg.oom_score_adjust,
                            child_env=self.plan.child_env(self.cfg.device_type), blender_args=self.blender_args)
        self.loop = WorkerLoop(self.client, self.cfg, self.plan.home, services, self.stop)
        return self.loop.run(status)

    def finish(self) -> None:
        """Process shutdown: kill a running task (the sign-off gives it back to the Manager),
        deliver what can be delivered, sign off."""
        self.cancel_current_task()
        self._join_loop(JOIN_LOOP_S)
        self.close()

    def _join_loop(self, timeout: float) -> None:
        """Wait for the loop to finish its task, but not for a held "give me a task":
        the Manager may keep that open for many seconds, and there is nothing to finish."""
        deadline = time.monotonic() + timeout
        while self.thread.is_alive() and time.monotonic() < deadline:
            if self.loop is not None and self.loop.held_request.is_set():
                log.debug("not waiting for the Manager's answer to a held task request")
                return
            self.thread.join(0.05)

    def close(self) -> None:
        """Stop uploads, last delivery of queued updates, sign off; once."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        if self.uploader is not None:
            self.uploader.stop()
        if self.buffer is not None:
            self.buffer.close(final_flush_s=FINAL_FLUSH_S)
        if self.signed_on:
            self._sign_off()

    def _sign_off(self) -> None:
        try:
            resp = self.client.call("POST", "sign-off", timeout=(SIGN_OFF_TIMEOUT_S, SIGN_OFF_TIMEOUT_S))
        except Unreachable as exc:
            log.warning("%s could not sign off at the Manager: %s", self.plan.name, exc)
            return
        if resp.status_code == 204:
            log.info("%s signed off at the Manager", self.plan.name)
        else:
            log.warning("the Manager did not accept the sign-off of %s: %s", self.plan.name, error_text(resp))
