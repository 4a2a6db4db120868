"""`flamenco-worker`: flags, start-up, and a clean shutdown on SIGINT/SIGTERM.

Start-up follows upstream's order: config, tools, Manager (given or found by
UPnP/SSDP), sign-on (registering when needed), deliver what the offline
buffer holds, then follow the Manager's status requests. Exit codes: 0 when
the Manager sends the Worker offline (or after -flush, -version, -help),
`restart_exit_code` when it asks for a restart, 1 on a signal or a fatal
problem, 2 on bad flags, 254 when shutting down takes over 20 s.
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

from flamenco_pkg import __version__
from flamenco_pkg.logsetup import setup_logging

from . import config as config_mod

log = logging.getLogger("flamenco.worker")

FIND_MANAGER_TIMEOUT_S = 60.0
AUTODISCOVERY_TIMEOUT_S = 600.0
SHUTDOWN_LIMIT_S = 20.0
SIGN_OFF_TIMEOUT_S = 3.0
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
    """One run of the Worker process, from start-up to exit code."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stop = threading.Event()
        self.signalled = False
        self.loop = None
        self.client = None

    def _on_signal(self, signum: int, _frame) -> None:
        if not self.signalled:
            log.info("%s received, shutting down", signal.Signals(signum).name)
        self.signalled = True
        self.stop.set()
        if self.loop is not None:
            self.loop.cancel_current_task()

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

        from .buffer import BufferError, UpstreamBuffer
        from .client import ManagerClient
        from .executor import Services
        from .loop import WorkerLoop
        from .registration import RegistrationError, Stopped, start_session
        from .tools import find_ffmpeg, log_tools
        from .uploader import LastRenderedUploader

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
        log_tools()

        if not cfg.manager_url:
            try:
                cfg.manager_url = find_manager(AUTODISCOVERY_TIMEOUT_S, self.stop)
            except DiscoveryError as exc:
                log.error("no Manager URL configured and none found on the network: %s", exc)
                return 1
            log.info("found a Manager at %s", cfg.manager_url)

        home = config_mod.flamenco_home()
        self.client = client = ManagerClient(cfg.manager_url)
        try:
            status = start_session(client, cfg, home, self.stop)
        except RegistrationError as exc:
            log.error("%s", exc)
            return 1
        except Stopped:
            return 1

        try:
            buffer = UpstreamBuffer(home / config_mod.BUFFER_FILE, client)
        except BufferError as exc:
            log.error("cannot open the offline queue: %s", exc)
            return 1
        queued = buffer.count()
        if queued:
            log.info("delivering %d task updates queued while the Manager was away", queued)
            buffer.flush()
        if self.args.flush:
            buffer.close()
            self._sign_off()
            return 0

        buffer.start()
        uploader = LastRenderedUploader(client)
        services = Services(client=client, buffer=buffer, offer_output=uploader.offer, find_ffmpeg=find_ffmpeg,
                            oom_score_adjust=cfg.oom_score_adjust)
        self.loop = loop = WorkerLoop(client, cfg, home, services, self.stop)
        result: dict[str, int | None] = {}
        thread = threading.Thread(target=lambda: result.update(code=loop.run(status)), name="worker-loop",
                                  daemon=True)
        thread.start()
        while thread.is_alive() and not self.stop.is_set():
            thread.join(0.5)
        return self._shutdown(thread, buffer, uploader, result)

    def _shutdown(self, thread: threading.Thread, buffer, uploader, result: dict) -> int:
        """Stop the loops, deliver what can be delivered, sign off; all within 20 s."""
        began = time.monotonic()
        watchdog = threading.Timer(SHUTDOWN_LIMIT_S, self._too_slow)
        watchdog.daemon = True
        watchdog.start()
        self.stop.set()
        if self.signalled and self.loop is not None:
            self.loop.cancel_current_task()
        self._join_loop(thread, timeout=10)
        uploader.stop()
        buffer.close(final_flush_s=5.0)
        self._sign_off()
        watchdog.cancel()
        code = 1 if self.signalled else result.get("code")
        if code is None:
            code = 1
        log.info("Worker stopped after %.1f s of shutting down; exit code %d", time.monotonic() - began, code)
        return code

    def _join_loop(self, thread: threading.Thread, timeout: float) -> None:
        """Wait for the loop to finish its task, but not for a held "give me a task":
        the Manager may keep that open for many seconds, and there is nothing to finish."""
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline:
            if self.loop is not None and self.loop.held_request.is_set():
                log.debug("not waiting for the Manager's answer to a held task request")
                return
            thread.join(0.05)

    def _too_slow(self) -> None:
        log.error("shutting down took longer than %d s; exiting anyway", SHUTDOWN_LIMIT_S)
        logging.shutdown()
        os._exit(EXIT_SHUTDOWN_TOO_SLOW)

    def _sign_off(self) -> None:
        from .client import Unreachable, error_text

        assert self.client is not None
        try:
            resp = self.client.call("POST", "sign-off", timeout=(SIGN_OFF_TIMEOUT_S, SIGN_OFF_TIMEOUT_S))
        except Unreachable as exc:
            log.warning("could not sign off at the Manager: %s", exc)
            return
        if resp.status_code == 204:
            log.info("signed off at the Manager")
        else:
            log.warning("the Manager did not accept the sign-off: %s", error_text(resp))
