"""Registering with the Manager and signing on.

A Worker invents its own secret at registration and keeps it in the
credentials file. When the Manager refuses those credentials (it lost its
database, or the Worker was deleted there), the Worker registers anew.
"""

from __future__ import annotations

import logging
import secrets
import threading
from pathlib import Path

from flamenco_pkg import __version__

from .client import ManagerClient, Unreachable, error_text
from .config import Credentials, WorkerConfig, load_credentials, save_credentials, worker_name
from .commands import go_platform
from .states import SIGN_ON_RETRY_S

log = logging.getLogger("flamenco.worker")


class RegistrationError(Exception):
    """Registration or the first sign-on after it failed; the Worker cannot go on."""


class Stopped(Exception):
    """The Worker was told to stop while waiting for the Manager."""


def sign_on_body(cfg: WorkerConfig) -> dict:
    return {"name": worker_name(cfg), "software_version": __version__,
            "supported_task_types": list(cfg.task_types), "can_restart": cfg.restart_exit_code != 0}


def sign_on(client: ManagerClient, cfg: WorkerConfig, stop: threading.Event, retry: bool = True) -> str | None:
    """Sign on with the client's credentials; the requested status, or None when they are refused.

    While the Manager cannot be reached this retries every 5 s (`retry`), or raises Unreachable.
    """
    while True:
        try:
            resp = client.call("POST", "sign-on", json=sign_on_body(cfg))
        except Unreachable as exc:
            if not retry:
                raise
            log.warning("cannot reach the Manager at %s to sign on, trying again in %d s: %s",
                        client.manager_url, SIGN_ON_RETRY_S, exc)
            if stop.wait(SIGN_ON_RETRY_S):
                raise Stopped() from exc
            continue
        if resp.status_code == 200:
            status = str(resp.json().get("status_requested", ""))
            log.info("signed on at %s as %s; the Manager wants this Worker %s",
                     client.manager_url, worker_name(cfg), status or "(no status)")
            return status
        if retry and (resp.status_code >= 500 or resp.status_code == 429):
            # A busy or broken Manager has not refused us; registering anew would leave a stale twin.
            log.warning("the Manager could not sign this Worker on (%s), trying again in %d s",
                        error_text(resp), SIGN_ON_RETRY_S)
            if stop.wait(SIGN_ON_RETRY_S):
                raise Stopped()
            continue
        log.warning("the Manager refused to sign this Worker on: %s", error_text(resp))
        return None


def registration_headers(cfg: WorkerConfig) -> dict[str, str] | None:
    """A worker user's token for a Manager that requires users; nothing (as upstream) without one."""
    return {"Authorization": f"Bearer {cfg.registration_token}"} if cfg.registration_token else None


def register(client: ManagerClient, cfg: WorkerConfig, home: Path, stop: threading.Event) -> Credentials:
    """Register with a new secret and save the credentials the Manager gives back."""
    secret = secrets.token_hex(32)
    body = {"name": worker_name(cfg), "platform": go_platform(), "secret": secret,
            "supported_task_types": list(cfg.task_types)}
    client.auth = ("", "")
    while True:
        try:
            resp = client.call("POST", "register-worker", json=body, headers=registration_headers(cfg))
            break
        except Unreachable as exc:
            log.warning("cannot reach the Manager at %s to register, trying again in %d s: %s",
                        client.manager_url, SIGN_ON_RETRY_S, exc)
            if stop.wait(SIGN_ON_RETRY_S):
                raise Stopped() from exc
    if resp.status_code != 200:
        raise RegistrationError(f"the Manager refused to register this Worker: {error_text(resp)}")
    creds = Credentials(worker_id=str(resp.json()["uuid"]), worker_secret=secret)
    try:
        path = save_credentials(home, creds)
    except OSError as exc:
        raise RegistrationError(f"cannot save the Worker's credentials in {home}: {exc}") from exc
    log.info("registered with the Manager as worker %s; credentials saved in %s", creds.worker_id, path)
    client.auth = (creds.worker_id, creds.worker_secret)
    return creds


def register_and_sign_on(client: ManagerClient, cfg: WorkerConfig, home: Path, stop: threading.Event) -> str:
    register(client, cfg, home, stop)
    status = sign_on(client, cfg, stop)
    if status is None:
        raise RegistrationError("the Manager refused to sign on the Worker it just registered")
    return status


def start_session(client: ManagerClient, cfg: WorkerConfig, home: Path, stop: threading.Event) -> str:
    """Sign on with saved credentials, registering first when there are none or they are refused."""
    creds = load_credentials(home)
    if creds is not None:
        client.auth = (creds.worker_id, creds.worker_secret)
        status = sign_on(client, cfg, stop)
        if status is not None:
            return status
        log.info("the Manager does not know worker %s (any more); registering anew", creds.worker_id)
    return register_and_sign_on(client, cfg, home, stop)
