"""`flamenco-worker.yaml`, the Flamenco home folder and the credentials file.

Field names, defaults and file locations are upstream's, so a Worker folder
set up for the Go Worker works here unchanged. The Worker never writes its
config file; it does write its credentials after registering.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

log = logging.getLogger("flamenco.worker")

CONFIG_FILE = "flamenco-worker.yaml"
CREDENTIALS_FILE = "flamenco-worker-credentials.yaml"
BUFFER_FILE = "flamenco-worker.sqlite"
DEFAULT_TASK_TYPES = ("blender", "ffmpeg", "file-management", "misc")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the field."""


@dataclass
class WorkerConfig:
    worker_name: str = ""
    manager_url: str = ""
    task_types: list[str] = field(default_factory=lambda: list(DEFAULT_TASK_TYPES))
    restart_exit_code: int = 0
    oom_score_adjust: int | None = None
    # Ours (issue 14): an API token of a `worker` user, for a Manager with auth.enabled;
    # sent as `Authorization: Bearer` on register-worker only.
    registration_token: str = field(default="", repr=False)


def load_config(path: Path = Path(CONFIG_FILE)) -> WorkerConfig:
    """Read the config over the defaults; a missing or empty file means defaults."""
    cfg = WorkerConfig()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return cfg
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return cfg
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    for key in ("worker_name", "manager_url", "registration_token"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], str):
                raise ConfigError(f"{path}: {key}: expected text, got {data[key]!r}")
            setattr(cfg, key, data[key].strip())
    if data.get("task_types") is not None:
        types = data["task_types"]
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ConfigError(f"{path}: task_types: expected a list of names, got {types!r}")
        cfg.task_types = list(types)
    for key in ("restart_exit_code", "oom_score_adjust"):
        if key in data and data[key] is not None:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{path}: {key}: expected a whole number, got {value!r}")
            setattr(cfg, key, value)
    return cfg


def parse_manager_url(text: str) -> str:
    """`-manager` value: no scheme means http; a URL without a host is an error."""
    text = text.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"-manager: {text!r} is not a Manager URL like http://192.168.0.5:8080/")
    return text


def worker_name(cfg: WorkerConfig) -> str:
    """Config, then $FLAMENCO_WORKER_NAME, then the host name."""
    if cfg.worker_name.strip():
        return cfg.worker_name.strip()
    env = os.environ.get("FLAMENCO_WORKER_NAME", "").strip()
    return env or socket.gethostname()


def flamenco_home() -> Path:
    """Where the credentials and the upstream buffer live; created when missing."""
    env = os.environ.get("FLAMENCO_HOME", "").strip()
    if env:
        home = Path(env)
    elif sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        home = Path(base) / "Blender Foundation" / "Flamenco"
    elif sys.platform == "darwin":
        home = Path.home() / "Library" / "Application Support" / "Flamenco"
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        home = Path(base) / "flamenco"
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass
class Credentials:
    worker_id: str
    worker_secret: str = field(repr=False)


def load_credentials(home: Path) -> Credentials | None:
    path = home / CREDENTIALS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, yaml.YAMLError) as exc:
        log.warning("ignoring unreadable credentials file %s (%s); registering anew", path, exc)
        return None
    if not isinstance(data, dict) or not data.get("worker_id") or not data.get("worker_secret"):
        return None
    return Credentials(str(data["worker_id"]), str(data["worker_secret"]))


def save_credentials(home: Path, creds: Credentials) -> Path:
    """Write `<file>~` readable by this user only, then rename it over the real file."""
    path = home / CREDENTIALS_FILE
    tmp = home / (CREDENTIALS_FILE + "~")
    text = ("# Written by the Flamenco Worker after registering with its Manager.\n"
            "# Delete this file to make the Worker register anew.\n"
            + yaml.safe_dump({"worker_id": creds.worker_id, "worker_secret": creds.worker_secret}))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
