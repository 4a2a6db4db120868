"""`flamenco-manager`: flags, configuration, then serve until stopped."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from pathlib import Path

from flamenco_pkg import __version__
from flamenco_pkg.logsetup import setup_logging

CONFIG_FILE = "flamenco-manager.yaml"

log = logging.getLogger("flamenco.manager")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="flamenco-manager", add_help=False,
        description="Flamenco Manager: hands render tasks to Workers and serves the API and web UI.\n"
                    f"Reads {CONFIG_FILE} from the working directory; without it, defaults apply.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-help", "--help", "-h", action="help", help="show this help and exit")
    parser.add_argument("-version", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("-quiet", "--quiet", action="store_true", help="log only warnings and errors")
    parser.add_argument("-debug", "--debug", action="store_true", help="log debug messages too")
    parser.add_argument("-trace", "--trace", action="store_true", help="log everything (same as -debug here)")
    parser.add_argument("-write-config", "--write-config", action="store_true",
                        help=f"write the effective configuration to {CONFIG_FILE} and exit")
    parser.add_argument("-config", "--config", metavar="FILE", default=CONFIG_FILE,
                        help=f"configuration file to use (default: {CONFIG_FILE})")
    parser.add_argument("-scripts", "--scripts", metavar="DIR", default=None,
                        help="folder of custom job types (*.js); default: scripts/ beside this program")
    # Shaman garbage collection from the command line (issue 6).
    parser.add_argument("-shaman-gc-show", "--shaman-gc-show", action="store_true",
                        help="show what Shaman's garbage collection would delete, and exit")
    parser.add_argument("-shaman-gc-delete", "--shaman-gc-delete", action="store_true",
                        help="run Shaman's garbage collection once (deletes unused files), and exit")
    # Users and API tokens (issue 14); they work while the Manager runs.
    parser.add_argument("-add-user", "--add-user", metavar="NAME", default="",
                        help="add a user (or give it a new role and password) and exit; the password is read from "
                             "standard input (asked without echo on a terminal); needs -role")
    parser.add_argument("-role", "--role", metavar="ROLE", default="",
                        help="role for -add-user: viewer, artist, manager, admin or worker")
    parser.add_argument("-new-token", "--new-token", metavar="NAME", default="",
                        help="make a new API token for user NAME, print it on the last line, and exit")
    parser.add_argument("-revoke-token", "--revoke-token", metavar="ID", default="",
                        help="revoke the API token with this ID and exit")
    parser.add_argument("-delete-user", "--delete-user", metavar="NAME", default="",
                        help="delete a user with its tokens and sessions, and exit")
    parser.add_argument("-list-users", "--list-users", action="store_true",
                        help="list users, their roles and token IDs, and exit")
    return parser.parse_args(argv)


def executable_dir() -> Path:
    """Folder of the running zipapp or script: home of `scripts/` and relative storage."""
    return Path(sys.argv[0]).resolve().parent


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.version:
        print(f"Flamenco Manager {__version__}")
        return 0

    user_command = bool(args.add_user or args.new_token or args.revoke_token or args.delete_user or args.list_users)
    if not user_command:  # a user command only writes the database: spare it patch_all's second
        from gevent import monkey

        monkey.patch_all()
    setup_logging(quiet=args.quiet, debug=args.debug or args.trace)

    from .config import ConfigError, load_config, write_config

    config_path = Path(args.config)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"flamenco-manager: {exc}", file=sys.stderr)
        return 1
    if args.write_config:
        write_config(config, config_path)
        print(f"wrote {config_path.resolve()}")
        return 0
    if user_command:
        from .auth import commands

        return commands.run(args, config)
    if args.shaman_gc_show or args.shaman_gc_delete:  # issue 6: one sweep, then exit
        from .shaman import gc_command

        return gc_command(config, delete=args.shaman_gc_delete)
    return serve(config, config_path, args.scripts)


def serve(config, config_path: Path, scripts: str | None) -> int:
    import socketio
    from gevent.pywsgi import WSGIServer

    from .app import build_app
    from .http_handler import ApiHandler
    from .config import listen_host_port
    from .context import open_manager
    from .events import Changes, lifecycle
    from .events.socketio import create_server, plain_http_for_foreign_origins
    from .db.connection import DatabaseError
    from .state_machine.startup import check_stuck_jobs

    raise_open_files_limit()  # before the task logs size their cache of open files
    base = executable_dir()
    try:
        manager = open_manager(config, config_path, base, Path(scripts) if scripts else base / "scripts")
    except DatabaseError as exc:
        print(f"flamenco-manager: {exc}", file=sys.stderr)
        return 1
    check_stuck_jobs(manager)
    from .submission import finish_interrupted

    finish_interrupted(manager)
    host, port = listen_host_port(config)
    sio = create_server(manager.broker, lambda: manager.config,
                        lambda environ, auth: manager.auth.socketio_allowed(manager, environ, auth))
    manager.metrics.watch_socketio(lambda: len(sio.eio.sockets))
    wsgi = socketio.WSGIApp(sio, build_app(manager))

    server = WSGIServer((host, port), wsgi, log=None, error_log=logging.getLogger("flamenco.http"),
                        handler_class=ApiHandler)
    server.pre_start_hook = plain_http_for_foreign_origins(lambda: manager.config)
    try:
        server.start()
    except OSError as exc:
        print(f"flamenco-manager: cannot listen on {config.listen}: {exc}", file=sys.stderr)
        return 1
    from .loops import start_all

    loops = start_all(manager)
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    log.info("Flamenco Manager %s is listening on http://%s:%d/ (database %s)",
             __version__, shown, server.server_port, manager.db.path)
    import gevent
    import gevent.event

    started = Changes()
    lifecycle(started, "manager-startup")
    manager.publish(started)
    keep_out_of_full_collections()
    stop = gevent.event.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(sig, stop.set)
    stop.wait()
    log.info("shutting down")
    manager.waiters.release_all()  # held task requests answer 204 now
    stopping = Changes()
    lifecycle(stopping, "manager-shutdown")
    manager.publish(stopping)
    manager.broker.flush(timeout=2)
    gevent.killall(loops, timeout=5)
    server.stop(timeout=5)
    manager.task_logs.close()  # the lines still queued are written
    manager.db.checkpoint()
    manager.db.close()
    return 0


def keep_out_of_full_collections() -> None:
    """Leave what start-up made (modules, routes, schemas) out of the garbage collector's passes.

    It lives as long as the Manager, yet every full collection walked all of
    it: tens of milliseconds on the event loop, in the middle of whatever
    request made the allocation that triggered it (seen as 70-95 ms stalls
    of Worker calls while a big job was stored). Full collections then also
    come ten times more rarely: with little left in the oldest generation,
    Python would otherwise run one every 70,000 allocations, each walking
    whatever a big read holds at that moment (a 100k-task listing's rows).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 100)


# The open-file limit, as high as the system allows. Every Worker keeps a
# connection open and recently written task logs stay open; a common soft limit
# of 1024 descriptors runs out at about a thousand Workers ("Too many open
# files" on accept). Raising the soft limit up to the hard one needs no
# privileges (Go, which upstream Flamenco is written in, does so at start-up).
OPEN_FILES_CAP = 1 << 20  # an "unlimited" hard limit: no process needs more, and select-based code chokes on more


def raise_open_files_limit() -> tuple[int, int] | None:
    """Raise the soft RLIMIT_NOFILE to the hard one (capped); returns (before, after), None where unknown."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = OPEN_FILES_CAP if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_CAP)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.debug("open-file limit raised from %d to %d", soft, target)
            return soft, target
        return soft, soft
    except (OSError, ValueError) as exc:
        log.warning("could not raise the open-file limit (%s); a big farm may run out of connections", exc)
        return None
