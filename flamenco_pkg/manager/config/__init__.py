"""``flamenco-manager.yaml``: the settings tree, its defaults, loading, validation and saving.

The dataclasses below are the single source of defaults: ``Config()`` *is* the
default configuration, and the YAML/JSON key of each field (same names as
upstream Flamenco) is kept in the field's metadata under ``"key"`` when it differs
from the Python name. The same code reads the file and the JSON body of
``PUT /api/v3/configuration/file``, so both give the same error messages.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping, get_type_hints

import yaml

from .durations import DURATION_EXAMPLES, format_duration, parse_duration
from .mqtt_broker import parse_broker

__all__ = [
    "AUDIENCES",
    "AuthConfig",
    "CONFIG_FILENAME",
    "CONFIG_VERSION",
    "DEFAULT_BLENDER_ARGS",
    "PASSWORD_MASK",
    "Config",
    "ConfigError",
    "GarbageCollect",
    "Meta",
    "MQTTClientConfig",
    "MQTTConfig",
    "ShamanConfig",
    "Variable",
    "VariableValue",
    "WEBHOOK_EVENTS",
    "Webhook",
    "config_from_dict",
    "config_to_dict",
    "default_variables",
    "effective_storage_path",
    "listen_host_port",
    "load_config",
    "manager_platform",
    "redacted_config_dict",
    "resolve_local_storage_path",
    "write_config",
]

log = logging.getLogger("flamenco.config")

CONFIG_FILENAME = "flamenco-manager.yaml"
CONFIG_VERSION = 3
DEFAULT_BLENDER_ARGS = "-b -y"
PASSWORD_MASK = "********"

# Audiences a variable value may be meant for; "all" feeds both concrete ones.
AUDIENCES = ("all", "workers", "users")
IMPLICIT_VARIABLES = ("jobs",)


def manager_platform() -> str:
    """The Manager's OS in Flamenco's vocabulary (Go's GOOS): linux, windows, darwin, ...

    Variables are looked up per platform, and the Manager's own platform decides
    which two-way values describe paths as the Manager sees them.
    """
    plat = sys.platform
    if plat.startswith("win") or plat == "cygwin":
        return "windows"
    if plat.startswith("linux"):
        return "linux"
    if plat.startswith("freebsd"):
        return "freebsd"
    return plat  # "darwin", and the rare others as Python names them


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the source, field and problem.

    ``ConfigError("plain message")`` also works, for callers with nothing to point at.
    """

    def __init__(self, source: str, field_path: str = "", problem: str = "") -> None:
        self.source = source
        self.field = field_path
        self.problem = problem
        if not problem:
            message = f"{source}: {field_path}" if field_path else source
        else:
            where = f"{source}: {field_path}" if field_path else source
            message = f"{where}: {problem}"
        super().__init__(message)


# ---------------------------------------------------------------------------
# The settings tree. Field order = order in the written file.


@dataclass
class Meta:
    """File metadata; only version 3 of the file layout is understood."""

    version: int = CONFIG_VERSION


@dataclass
class GarbageCollect:
    """How often Shaman's file store is swept and how old unused files must be."""

    period: timedelta = timedelta(hours=24)
    max_age: timedelta = field(default=timedelta(hours=744), metadata={"key": "maxAge"})


def _shaman_default_enabled() -> bool:
    # Upstream keeps Shaman off on Windows, where symlinks need special privileges.
    return manager_platform() != "windows"


@dataclass
class ShamanConfig:
    """Shaman: the Manager-side file store that the add-on uploads job files into."""

    enabled: bool = field(default_factory=_shaman_default_enabled)
    garbage_collect: GarbageCollect = field(default_factory=GarbageCollect, metadata={"key": "garbageCollect"})


@dataclass
class MQTTClientConfig:
    """MQTT broker settings, read and kept like upstream's; this Manager does not publish to MQTT yet."""

    enabled: bool = False
    broker: str = ""
    client_id: str = field(default="flamenco", metadata={"key": "clientID"})
    topic_prefix: str = "flamenco"
    username: str = ""
    password: str = field(default="", metadata={"secret": True})


@dataclass
class MQTTConfig:
    client: MQTTClientConfig = field(default_factory=MQTTClientConfig)


@dataclass
class AuthConfig:
    """Logins, roles, API tokens and the audit log (ours, issue 14); off: as upstream, no authentication."""

    enabled: bool = False


# What a webhook can be told about (ours; upstream has no webhooks).
WEBHOOK_EVENTS = ("job-status", "worker-status")


@dataclass
class Webhook:
    """A receiver of signed JSON POSTs about job and worker status changes."""

    url: str = ""
    events: list[str] = field(default_factory=list)
    secret: str = field(default="", metadata={"secret": True})


@dataclass
class VariableValue:
    """One value of a variable, for some platforms and one audience.

    Upstream's ``platform`` and ``platforms`` keys are merged into ``platforms``;
    the file gets ``platform`` back when there is only one.
    """

    value: str
    platforms: tuple[str, ...] = ()
    audience: str = "all"


@dataclass
class Variable:
    """A named variable; two-way ones are path prefixes mapped between platforms."""

    values: list[VariableValue] = field(default_factory=list)
    is_twoway: bool = False


def default_variables() -> dict[str, Variable]:
    """The variables every Manager has unless its configuration redefines them."""
    return {
        "blender": Variable(
            values=[
                VariableValue("blender", ("linux",)),
                VariableValue("blender.exe", ("windows",)),
                VariableValue("blender", ("darwin",)),
            ]
        ),
        "blenderArgs": Variable(values=[VariableValue(DEFAULT_BLENDER_ARGS, ("all",))]),
    }


@dataclass
class Config:
    """The Manager's configuration; ``Config()`` is the default configuration."""

    meta: Meta = field(default_factory=Meta, metadata={"key": "_meta"})
    manager_name: str = "Flamenco"
    database: str = "flamenco-manager.sqlite"
    database_check_period: timedelta = timedelta(minutes=10)
    listen: str = ":8080"
    autodiscoverable: bool = True
    local_manager_storage_path: str = "./flamenco-manager-storage"
    shared_storage_path: str = ""
    shaman: ShamanConfig = field(default_factory=ShamanConfig)
    task_timeout: timedelta = timedelta(minutes=10)
    worker_timeout: timedelta = timedelta(minutes=1)
    # How often the timeout checker and the sleep scheduler run (ours; upstream
    # hard-codes a minute). The timeout checker waits five intervals after
    # start-up, so Workers can reconnect after a Manager restart.
    timeout_check_interval: timedelta = timedelta(minutes=1)
    sleep_check_interval: timedelta = timedelta(minutes=1)
    blocklist_threshold: int = 3
    task_fail_after_softfail_count: int = 3
    mqtt: MQTTConfig = field(default_factory=MQTTConfig)
    # Ours (security): peers whose X-Forwarded-For / X-Real-IP / X-Forwarded-Host
    # are believed (addresses or networks like 10.0.0.0/8); nobody's by default.
    trusted_proxies: list[str] = field(default_factory=list)
    # Ours (security): web origins besides the Manager's own address whose pages
    # may open the live-update (Socket.IO) connection, like https://farm.example.
    allowed_origins: list[str] = field(default_factory=list)
    # Ours (issue 14): users, roles, API tokens and the audit log; see docs/auth.md.
    auth: AuthConfig = field(default_factory=AuthConfig)
    webhooks: list[Webhook] = field(default_factory=list)
    variables: dict[str, Variable] = field(default_factory=default_variables)

    @property
    def is_first_run(self) -> bool:
        """No shared storage configured yet: the web UI shows the setup assistant."""
        return not self.shared_storage_path


# ---------------------------------------------------------------------------
# Helpers used by the rest of the Manager.

_ORIGIN_RE = re.compile(r"^https?://(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z._-]+)(:[0-9]{1,5})?$")
_LISTEN_RE = re.compile(r"^(?P<host>\[[0-9A-Za-z:.%_-]+\]|[0-9A-Za-z._-]*):(?P<port>[0-9]{1,5})$")


def _split_listen(listen: str) -> tuple[str, int] | None:
    m = _LISTEN_RE.match(listen)
    if not m:
        return None
    port = int(m.group("port"))
    if port > 65535:
        return None
    host = m.group("host")
    if host.startswith("["):
        host = host[1:-1]
    return host, port


def listen_host_port(cfg: Config | str) -> tuple[str, int]:
    """Split ``listen`` into what a socket binds to; an empty host means all interfaces."""
    listen = cfg if isinstance(cfg, str) else cfg.listen
    split = _split_listen(listen.strip())
    if split is None:
        raise ValueError(f"listen: {listen!r} is not an address like :8080 or 192.168.0.5:8080")
    host, port = split
    return (host or "0.0.0.0"), port


def resolve_local_storage_path(cfg: Config, base_dir: Path) -> Path:
    """Absolute local storage dir; relative paths count from `base_dir`.

    Upstream resolves against the executable's directory, not the working
    directory, so the caller chooses the base explicitly.
    """
    path = Path(os.path.expanduser(cfg.local_manager_storage_path))
    if not path.is_absolute():
        path = Path(base_dir) / path
    return Path(os.path.normpath(path))


def effective_storage_path(cfg: Config, platform: str | None = None) -> str:
    """Where job files live as the Manager sees them: Shaman's ``jobs`` dir, or the shared storage.

    Pure string work (no file system access) so it also serves the implicit
    ``jobs`` variable; `platform` picks the separator (default: this machine).
    """
    shared = cfg.shared_storage_path
    if not shared or not cfg.shaman.enabled:
        return shared
    sep = "\\" if (platform or manager_platform()) == "windows" else "/"
    trimmed = shared.rstrip("/\\")
    if not trimmed:  # the root itself
        return shared[0] + "jobs"
    return trimmed + sep + "jobs"


# ---------------------------------------------------------------------------
# Reading.


def _key(f: Any) -> str:
    return f.metadata.get("key", f.name)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _show(value: Any) -> str:
    """Quote a user-supplied value for an error message."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "an empty value"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, default=str)


class _Reader:
    """Builds a Config from parsed YAML/JSON data, over the defaults, collecting warnings."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, where: str, problem: str) -> ConfigError:
        return ConfigError(self.source, where, problem)

    def warn_unknown(self, where: str, key: Any) -> None:
        log.warning("%s: unknown setting %s is ignored", self.source, _join(where, str(key)))

    # -- scalars --

    def text(self, raw: Any, where: str) -> str:
        if raw is None:
            return ""
        if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
            raise self.error(where, f"expected text, got {_show(raw)}")
        return str(raw)

    def boolean(self, raw: Any, where: str) -> bool:
        if not isinstance(raw, bool):
            raise self.error(where, f"{_show(raw)} is not true or false")
        return raw

    def integer(self, raw: Any, where: str) -> int:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.error(where, f"{_show(raw)} is not a whole number")
        return raw

    def duration(self, raw: Any, where: str) -> timedelta:
        if isinstance(raw, timedelta):
            return raw
        if raw == 0 and not isinstance(raw, bool):  # YAML `0` is a number, Go reads it as "0"
            return timedelta(0)
        if isinstance(raw, str):
            try:
                return parse_duration(raw)
            except ValueError:
                pass
        raise self.error(where, f"{_show(raw)} is not a duration like {DURATION_EXAMPLES}")

    def text_list(self, raw: Any, where: str) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.error(where, f"expected a list, got {_show(raw)}")
        items = [self.text(item, f"{where}[{i}]").strip() for i, item in enumerate(raw)]
        return [item for item in items if item]

    def mapping(self, raw: Any, where: str) -> Mapping:
        if raw is None:
            return {}
        if not isinstance(raw, Mapping):
            raise self.error(where, f"expected a mapping of settings, got {_show(raw)}")
        return raw

    # -- structure --

    def fill(self, obj: Any, raw: Any, where: str) -> None:
        """Overwrite the fields of dataclass `obj` with what `raw` specifies."""
        data = self.mapping(raw, where)
        hints = get_type_hints(type(obj))
        by_key = {_key(f): f for f in fields(obj)}
        for key, value in data.items():
            f = by_key.get(key) if isinstance(key, str) else None
            if f is None:
                self.warn_unknown(where, key)
                continue
            here = _join(where, key)
            current = getattr(obj, f.name)
            kind = hints[f.name]
            if f.name == "variables":
                setattr(obj, f.name, self.variables(current, value, here))
            elif f.name == "webhooks":
                setattr(obj, f.name, self.webhooks(value, here))
            elif is_dataclass(current):
                self.fill(current, value, here)
            elif kind is str:
                setattr(obj, f.name, self.text(value, here))
            elif kind is bool:
                setattr(obj, f.name, self.boolean(value, here))
            elif kind is int:
                setattr(obj, f.name, self.integer(value, here))
            elif kind is timedelta:
                setattr(obj, f.name, self.duration(value, here))
            elif kind == list[str]:
                setattr(obj, f.name, self.text_list(value, here))
            else:  # pragma: no cover - a field type this reader was not taught
                raise TypeError(f"unsupported config field type {kind!r} for {here}")

    def variables(self, defaults: dict[str, Variable], raw: Any, where: str) -> dict[str, Variable]:
        """Variables from the file replace same-named defaults; other defaults survive."""
        result = dict(defaults)
        for name, spec in self.mapping(raw, where).items():
            if not isinstance(name, str) or not name:
                raise self.error(where, f"variable name {_show(name)} must be non-empty text")
            result[name] = self.variable(spec, _join(where, name))
        return result

    def webhooks(self, raw: Any, where: str) -> list[Webhook]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.error(where, f"expected a list of webhooks, got {_show(raw)}")
        hooks = []
        for index, item in enumerate(raw):
            here = f"{where}[{index}]"
            hook = Webhook()
            self.fill(hook, item, here)
            hook.url = hook.url.strip()
            scheme, _, rest = hook.url.partition("://")
            if scheme.lower() not in ("http", "https") or not rest.strip("/"):
                raise self.error(f"{here}.url", f"{_show(hook.url)} is not an http:// or https:// URL")
            for event in hook.events:
                if event not in WEBHOOK_EVENTS:
                    raise self.error(f"{here}.events", f"{_show(event)} is not one of {', '.join(WEBHOOK_EVENTS)}")
            hooks.append(hook)
        return hooks

    def variable(self, raw: Any, where: str) -> Variable:
        data = self.mapping(raw, where)
        var = Variable()
        for key, value in data.items():
            here = _join(where, str(key))
            if key == "is_twoway":
                var.is_twoway = False if value is None else self.boolean(value, here)
            elif key == "values":
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise self.error(here, f"expected a list of values, got {_show(value)}")
                for index, item in enumerate(value):
                    parsed = self.variable_value(item, f"{here}[{index}]")
                    if parsed is not None:
                        var.values.append(parsed)
            else:
                self.warn_unknown(where, key)
        return var

    def variable_value(self, raw: Any, where: str) -> VariableValue | None:
        data = self.mapping(raw, where)
        value = ""
        platforms: list[str] = []
        audience = "all"
        for key, item in data.items():
            here = _join(where, str(key))
            if key == "value":
                value = self.text(item, here)
            elif key == "platform":
                plat = self.text(item, here).strip().lower()
                if plat:
                    platforms.append(plat)
            elif key == "platforms":
                if item is None:
                    continue
                if not isinstance(item, list):
                    raise self.error(here, f"expected a list of platforms, got {_show(item)}")
                for i, p in enumerate(item):
                    plat = self.text(p, f"{here}[{i}]").strip().lower()
                    if plat:
                        platforms.append(plat)
            elif key == "audience":
                audience = self.text(item, here).strip() or "all"
                if audience not in AUDIENCES:
                    raise self.error(here, f"{_show(audience)} is not one of {', '.join(AUDIENCES)}")
            else:
                self.warn_unknown(where, key)
        if not platforms:
            log.warning("%s: %s has no platform and is ignored (value %s)", self.source, where, _show(value))
            return None
        unique = tuple(dict.fromkeys(platforms))
        return VariableValue(value=value, platforms=unique, audience=audience)


# Every threshold and duration the farm runs on, with what it does, so a value
# that would break the farm (a 0 worker_timeout puts every Worker in error on
# every check) is refused at load and in PUT /configuration/file, naming the key.
_THRESHOLDS = (
    ("blocklist_threshold", "failures of one task type by one Worker on one job before it is blocklisted"),
    ("task_fail_after_softfail_count", "Workers that may fail a task before it fails for good"),
)
_DURATIONS = (
    ("database_check_period", lambda c: c.database_check_period, "check only at start-up",
     "it is how often the database is checked"),
    ("task_timeout", lambda c: c.task_timeout, "",
     "it is how long an active task may go without news from its Worker before it fails"),
    ("worker_timeout", lambda c: c.worker_timeout, "",
     "it is how long a Worker may stay silent before it is put in error"),
    ("timeout_check_interval", lambda c: c.timeout_check_interval, "",
     "it is how often task and Worker timeouts are checked"),
    ("sleep_check_interval", lambda c: c.sleep_check_interval, "",
     "it is how often sleep schedules are checked"),
    ("shaman.garbageCollect.period", lambda c: c.shaman.garbage_collect.period, "no garbage collection",
     "it is how often Shaman's file store is swept"),
    ("shaman.garbageCollect.maxAge", lambda c: c.shaman.garbage_collect.max_age, "",
     "stored files unused for this long are removed, so 0 would remove files of jobs being submitted"),
)


def _check(cfg: Config, reader: _Reader) -> None:
    """Rules that single fields cannot express by their type alone."""
    if cfg.meta.version != CONFIG_VERSION:
        raise reader.error(
            "_meta.version",
            f"this Manager only reads version {CONFIG_VERSION} configuration files, this one is version {cfg.meta.version}",
        )
    cfg.database = cfg.database.strip()
    if not cfg.database:
        raise reader.error("database", "must name the database file, like flamenco-manager.sqlite")
    if _split_listen(cfg.listen.strip()) is None:
        raise reader.error("listen", f"{_show(cfg.listen)} is not an address like :8080 or 192.168.0.5:8080")
    cfg.listen = cfg.listen.strip()
    for name, purpose in _THRESHOLDS:
        value = getattr(cfg, name)
        if value < 1:
            raise reader.error(name, f"{value} is not allowed: use 1 or more ({purpose})")
    for name, get, zero_means, purpose in _DURATIONS:
        value = get(cfg)
        if value > timedelta(0):
            continue
        if value == timedelta(0) and zero_means:
            continue
        allowed = f"0 ({zero_means}) or a positive duration" if zero_means else "a positive duration"
        raise reader.error(name, f"{format_duration(value)} is not allowed: use {allowed}; {purpose}")

    for index, proxy in enumerate(cfg.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise reader.error(f"trusted_proxies[{index}]", f"{_show(proxy)} is not an IP address or network "
                               "like 127.0.0.1 or 10.0.0.0/8") from None
    for index, origin in enumerate(cfg.allowed_origins):
        if not _ORIGIN_RE.match(origin):
            raise reader.error(f"allowed_origins[{index}]", f"{_show(origin)} is not a web origin like "
                               "https://farm.example or http://192.168.0.5:8080 (scheme, host, optional port)")
    cfg.allowed_origins = [origin.lower() for origin in cfg.allowed_origins]
    mqtt = cfg.mqtt.client
    if mqtt.enabled:
        try:
            parse_broker(mqtt.broker)
        except ValueError as exc:
            raise reader.error("mqtt.client.broker", str(exc)) from None
    if any(c in mqtt.topic_prefix for c in "+#\0"):
        raise reader.error("mqtt.client.topic_prefix", f"{_show(mqtt.topic_prefix)} may not contain + # or NUL")

    if cfg.shared_storage_path:
        if cfg.shared_storage_path.startswith("\\\\"):
            log.error(
                "%s: shared_storage_path %s is a UNC path; Workers usually cannot use those, map it to a drive letter",
                reader.source,
                cfg.shared_storage_path,
            )
        else:
            # Upstream makes the path absolute (relative to the working directory).
            cfg.shared_storage_path = os.path.abspath(cfg.shared_storage_path)

    if cfg.mqtt.client.enabled:
        log.warning("%s: mqtt.client.enabled is on, but this Manager does not publish to MQTT yet; "
                    "the setting is only kept for a later version", reader.source)

    for implicit in IMPLICIT_VARIABLES:
        if implicit in cfg.variables:
            log.warning(
                "%s: variable %r is ignored; the Manager defines it itself from shared_storage_path",
                reader.source,
                implicit,
            )
            del cfg.variables[implicit]

    blender = cfg.variables.get("blender")
    if blender is None:
        log.warning("%s: there is no 'blender' variable, Workers will not know how to run Blender", reader.source)
    else:
        empty = [p for v in blender.values if not v.value for p in v.platforms]
        if empty:
            log.warning(
                "%s: variable 'blender' is empty for %s; Workers there cannot run Blender",
                reader.source,
                ", ".join(empty),
            )


def _build(data: Any, source: str, previous: Config | None = None) -> Config:
    reader = _Reader(source)
    if data is None:
        log.warning("%s: the configuration is empty, using the defaults", source)
        data = {}
    if not isinstance(data, Mapping):
        raise reader.error("", f"expected a mapping of settings at the top level, got {_show(data)}")
    meta = data.get("_meta")
    if meta is None or (isinstance(meta, Mapping) and "version" not in meta):
        log.warning("%s: _meta.version is missing, assuming version %d", source, CONFIG_VERSION)
    cfg = Config()
    reader.fill(cfg, data, "")
    _check(cfg, reader)
    if previous is not None and cfg.mqtt.client.password == PASSWORD_MASK:
        # A round trip through the redacted JSON keeps the stored secret.
        cfg.mqtt.client.password = previous.mqtt.client.password
    for index, hook in enumerate(cfg.webhooks):
        if hook.secret == PASSWORD_MASK:  # same round trip for webhook secrets, matched by URL
            stored = [h.secret for h in (previous.webhooks if previous else []) if h.url == hook.url]
            if not stored:
                raise reader.error(f"webhooks[{index}].secret", "is masked, but no secret is stored for this URL")
            hook.secret = stored[0]
    return cfg


def load_config(path: Path) -> Config:
    """Read ``flamenco-manager.yaml`` over the defaults; a missing file means "all defaults".

    Raises ConfigError naming the file, the field and the problem, so the
    Manager can refuse to start with a message the user can act on.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.debug("%s does not exist, using the default configuration", source)
        return Config()
    except (OSError, UnicodeDecodeError) as ex:
        raise ConfigError(source, "", f"cannot read the file: {ex}") from ex
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as ex:
        mark = ex.problem_mark or ex.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = ex.problem or ex.context or "invalid YAML"
        raise ConfigError(source, where, f"YAML syntax error: {problem}") from ex
    except yaml.YAMLError as ex:
        raise ConfigError(source, "", f"YAML syntax error: {ex}") from ex
    return _build(data, source)


def config_from_dict(
    data: Mapping[str, Any], *, source: str = "configuration", previous: Config | None = None
) -> Config:
    """Validate a flat JSON/YAML-shaped dict (``PUT /configuration/file``) into a Config.

    Missing keys keep their defaults, like the file. With `previous`, a password
    still showing PASSWORD_MASK keeps the previous password.
    """
    return _build(data, source, previous)


# ---------------------------------------------------------------------------
# Writing.


def _variable_to_dict(var: Variable) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if var.is_twoway:
        out["is_twoway"] = True
    values = []
    for v in var.values:
        item: dict[str, Any] = {"audience": v.audience or "all"}
        if len(v.platforms) == 1:
            item["platform"] = v.platforms[0]
        else:
            item["platforms"] = list(v.platforms)
        item["value"] = v.value
        values.append(item)
    out["values"] = values
    return out


def _to_dict(obj: Any, hide_secrets: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name == "variables":
            out[_key(f)] = {name: _variable_to_dict(v) for name, v in value.items()}
        elif f.name == "webhooks":
            out[_key(f)] = [_to_dict(hook, hide_secrets) for hook in value]
        elif is_dataclass(value):
            out[_key(f)] = _to_dict(value, hide_secrets)
        elif isinstance(value, timedelta):
            out[_key(f)] = format_duration(value)
        elif hide_secrets and f.metadata.get("secret") and value:
            out[_key(f)] = PASSWORD_MASK
        else:
            out[_key(f)] = copy.copy(value)
    return out


def config_to_dict(cfg: Config, *, hide_secrets: bool = False) -> dict[str, Any]:
    """The flat shape of ``GET /configuration/file``; keys and formats are the YAML file's."""
    return _to_dict(cfg, hide_secrets)


def redacted_config_dict(cfg: Config) -> dict[str, Any]:
    """config_to_dict with secrets (the MQTT password, webhook secrets) masked, for echoing to clients and logs."""
    return _to_dict(cfg, hide_secrets=True)


_HEADER = """\
# Flamenco Manager configuration.
# Settings missing from this file keep their default value.
# The Manager rewrites this file when settings are changed from its web interface,
# so comments added here will not survive that.
# Written {when} by flamenco-py {version}.

"""


def write_config(cfg: Config, path: Path) -> None:
    """Save `cfg` as YAML, atomically: write ``<file>~`` and rename it over the original.

    The file may hold the MQTT password, so it is created readable by its owner only.
    """
    from flamenco_pkg import __version__

    path = Path(path)
    body = yaml.safe_dump(
        config_to_dict(cfg), sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )
    header = _HEADER.format(when=time.strftime("%Y-%m-%d %H:%M:%S %z"), version=__version__)
    temp = path.with_name(path.name + "~")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(header)
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    log.info("saved configuration to %s", path)
