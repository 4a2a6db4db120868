"""`flamenco-worker`: flags, start-up, and a clean shutdown on SIGINT/SIGTERM.

Start-up follows upstream's order: config, tools, Manager (given or found by
UPnP/SSDP), sign-on (registering when needed), deliver what the offline
buffer holds, then follow the Manager's status requests. With `-devices 0,1`
each GPU gets a slot (`slot.py`) that does all of that as a Worker of its own.
Exit codes: 0 when the Manager sends the Worker (every slot) offline, or
after -flush, -version, -help; `restart_exit_code` when it asks for a
restart; 1 on a signal or a fatal problem; 2 on bad flags; 254 when shutting
down takes over 20 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from flamenco_pkg import __version__
from flamenco_pkg.logsetup import setup_logging

from . import config as config_mod

if TYPE_CHECKING:
    from .slot import WorkerSlot

log = logging.getLogger("flamenco.worker")

FIND_MANAGER_TIMEOUT_S = 60.0
AUTODISCOVERY_TIMEOUT_S = 600.0
SHUTDOWN_LIMIT_S = 20.0
EXIT_SHUTDOWN_TOO_SLOW = 254


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="flamenco-worker", add_help=False, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Flamenco Worker: runs render tasks from a Flamenco Manager with Blender and FFmpeg.\n"
                    f"Reads {config_mod.CONFIG_FILE} from the working directory (missing: defaults); keeps\n"
                    f"its credentials and offline queue in $FLAMENCO_HOME. Without a Manager URL it\n"
                    "looks for one on the local network (UPnP/SSDP).")
    parser.add_argument("-help", "--help", "-h", action="help", help="show this help and exit")
    parser.add_argument("-version", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("-manager", "--manager", metavar="URL", default="",
                        help="Manager URL, e.g. http://192.168.0.5:8080/ (overrides manager_url)")
    parser.add_argument("-find-manager", "--find-manager", action="store_true",
                        help="look for a Manager on the network, print its URL and exit")
    parser.add_argument("-flush", "--flush", action="store_true",
                        help="sign on, deliver queued task updates, sign off and exit")
    parser.add_argument("-restart-exit-code", "--restart-exit-code", metavar="N", type=int, default=0,
                        help="exit with N when the Manager asks for a restart (makes the Worker restartable)")
    parser.add_argument("-token", "--token", metavar="TOKEN", default="",
                        help="API token of a worker user, to register with a Manager that requires users "
                             "(overrides registration_token)")
    parser.add_argument("-devices", "--devices", metavar="LIST", default=None,
                        help="run one Worker per GPU: device numbers like 0,1, or 'auto' (nvidia-smi -L); "
                             "overrides devices in the config")
    parser.add_argument("-register", "--register", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-quiet", "--quiet", action="store_true", help="log only warnings and errors")
    parser.add_argument("-debug", "--debug", action="store_true", help="log debug messages too")
    parser.add_argument("-trace", "--trace", action="store_true", help="log everything (same as -debug here)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        print(__version__)
        return 0
    setup_logging(quiet=args.quiet, debug=args.debug or args.trace)
    log.info("Flamenco Worker %s on %s %s (%s), pid %d", __version__, platform.system(), platform.release(),
             platform.machine(), os.getpid())
    if args.find_manager:
        return find_manager_and_exit()
    return Worker(args).main()


def find_manager_and_exit() -> int:
    from flamenco_pkg.discovery import DiscoveryError, find_manager

    try:
        url = find_manager(FIND_MANAGER_TIMEOUT_S)
    except DiscoveryError as exc:
        log.error("no Manager found: %s", exc)
        return 1
    log.info("found a Manager at %s", url)
    print(url, flush=True)
    return 0


class Worker:
    """One run of the Worker process, from start-up to exit code: one slot, or one per GPU."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop = threading.Event()
        self.signalled = False
        self.slots: list[WorkerSlot] = []

    def _on_signal(self, signum: int, _frame) -> None:
        if not self.signalled:
            log.info("%s received, shutting down", signal.Signals(signum).name)
        self.signalled = True
        self.stop.set()
        for slot in self.slots:
            slot.cancel_current_task()

    def main(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            return self._run()
        except config_mod.ConfigError as exc:
            log.error("%s", exc)
            return 1

    def _run(self) -> int:
        from flamenco_pkg.discovery import DiscoveryError, find_manager

        from .commands.cycles_device import device_args
        from .devices import plan_slots
        from .slot import WorkerSlot
        from .slotlog import add_slot_logging
        from .tools import log_tools

        cfg = config_mod.load_config(Path(config_mod.CONFIG_FILE))
        if self.args.manager:
            cfg.manager_url = config_mod.parse_manager_url(self.args.manager)
        if self.args.token:
            cfg.registration_token = self.args.token.strip()
        if self.args.restart_exit_code:
            cfg.restart_exit_code = self.args.restart_exit_code
        if cfg.oom_score_adjust is not None and not sys.platform.startswith("linux"):
            log.warning("oom_score_adjust only works on Linux; ignoring it")
            cfg.oom_score_adjust = None
        devices = self._devices(cfg)
        if devices is None:
            return 1
        log_tools()

        if not cfg.manager_url:
            try:
                cfg.manager_url = find_manager(AUTODISCOVERY_TIMEOUT_S, self.stop)
            except DiscoveryError as exc:
                log.error("no Manager URL configured and none found on the network: %s", exc)
                return 1
            log.info("found a Manager at %s", cfg.manager_url)

        plans = plan_slots(devices, config_mod.worker_name(cfg), config_mod.flamenco_home())
        blender_args: tuple[str, ...] = ()
        if devices:
            add_slot_logging([(p.label, p.log_file) for p in plans if p.log_file is not None])
            blender_args = tuple(device_args(cfg.device_type))
            for plan in plans:
                log.info("slot %s: worker %s on %s device %s, files in %s", plan.label, plan.name,
                         cfg.device_type, plan.device, plan.home)
        wake = threading.Event()
        self.slots = [WorkerSlot(plan, cfg, self.stop, self.args.flush, blender_args, wake) for plan in plans]
        for slot in self.slots:
            slot.start()
        code = self._wait_for_slots(wake)
        return self._shutdown(code)

    def _devices(self, cfg: config_mod.WorkerConfig) -> list[str] | None:
        """The GPU indices to run slots for ([] for the plain Worker); None after a logged error."""
        from .devices import AUTO, DevicesError, parse_devices
        from .tools import find_nvidia_gpus

        spec = cfg.devices
        if self.args.devices is not None:
            try:
                spec = parse_devices(self.args.devices)
            except DevicesError as exc:
                raise config_mod.ConfigError(f"-devices: {exc}") from exc
        if spec != AUTO:
            return list(spec)
        found, why = find_nvidia_gpus()
        if not found:
            log.error("devices auto: no NVIDIA GPU found: %s. Name the devices (-devices 0,1), or leave the "
                      "option out to run one Worker for the whole machine.", why)
            return None
        log.info("devices auto: found NVIDIA GPUs %s", ", ".join(found))
        return found

    def _wait_for_slots(self, wake: threading.Event) -> int:
        """Until a signal, a slot that must end the process (restart, fatal error), or every slot gone."""
        while not self.stop.is_set():
            finished = [slot for slot in self.slots if slot.done.is_set()]
            ending = next((slot for slot in finished if slot.code != 0), None)
            if ending is not None:
                return 1 if ending.code is None else ending.code
            if len(finished) == len(self.slots):
                return 0
            wake.wait(0.5)
            wake.clear()
        return 1

    def _shutdown(self, code: int) -> int:
        """Every slot: stop its loop, deliver what can be delivered, sign off; all within 20 s."""
        began = time.monotonic()
        watchdog = threading.Timer(SHUTDOWN_LIMIT_S, self._too_slow)
        watchdog.daemon = True
        watchdog.start()
        self.stop.set()
        closers = [threading.Thread(target=slot.finish, name=f"shutdown-{i}", daemon=True)
                   for i, slot in enumerate(self.slots)]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        watchdog.cancel()
        if self.signalled:
            code = 1
        log.info("Worker stopped after %.1f s of shutting down; exit code %d", time.monotonic() - began, code)
        return code

    def _too_slow(self) -> None:
        log.error("shutting down took longer than %d s; exiting anyway", SHUTDOWN_LIMIT_S)
        logging.shutdown()
        os._exit(EXIT_SHUTDOWN_TOO_SLOW)
