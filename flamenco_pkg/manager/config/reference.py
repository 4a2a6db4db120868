"""The configuration reference (docs/configuration.md), generated from the settings tree.

Keys, types and defaults come from the dataclasses in ``config/__init__.py``;
only the words live here, one description per YAML key. `make docs` writes
the file and tests/unit/test_config_reference.py fails when it is out of date
or when a setting has no description, so a new field cannot go undocumented.
"""

from __future__ import annotations

import sys
from dataclasses import fields, is_dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator, get_args, get_origin, get_type_hints

import yaml

from . import Config, config_to_dict
from .durations import format_duration
from .setup_assistant import RESTART_KEYS

# One line or two per key, in the project's words. Sections (mappings) too.
DESCRIPTIONS: dict[str, str] = {
    "_meta": "File metadata.",
    "_meta.version": "Layout version of this file. Only version 3 is read; another version is refused at start-up.",
    "manager_name": "Name shown in the web UI and the add-on, and announced to Workers on the network.",
    "database": "SQLite database file. A relative path counts from the working directory. "
                "Keep it on a local disk, never on a network share.",
    "database_check_period": "How often the database's integrity is checked while running (0: only at start-up). "
                             "A failed check stops the Manager to protect the data.",
    "listen": "Address and port the web UI and API listen on: `:8080` for every interface, "
              "`127.0.0.1:8080` for this machine only.",
    "autodiscoverable": "Answer UPnP/SSDP searches, so Workers without `manager_url` find this Manager by themselves.",
    "local_manager_storage_path": "Folder for the Manager's own files: task logs and last-rendered images. "
                                  "A relative path counts from the folder of the Manager program.",
    "shared_storage_path": "Folder that the Manager, every Worker and the artists' computers can all reach, "
                           "as the Manager sees it. Jobs' files and renders go here. Empty: the web UI shows the "
                           "setup assistant. Map it per platform with a two-way variable.",
    "shaman": "Shaman: the add-on uploads job files into a store under the shared storage, "
              "each file once, and jobs get a folder of links into it.",
    "shaman.enabled": "Use Shaman. Off: the add-on copies each job's files into the shared storage itself. "
                      "Needs a shared storage that supports symbolic links.",
    "shaman.garbageCollect": "Removal of stored files that no job uses any more.",
    "shaman.garbageCollect.period": "How often the garbage collector runs (0: never).",
    "shaman.garbageCollect.maxAge": "How long an unused file is kept before it is removed.",
    "task_timeout": "A task whose Worker sent nothing about it for this long is failed (and may be retried "
                    "elsewhere).",
    "worker_timeout": "A Worker that has not been heard from for this long goes to `error` and its tasks are "
                      "handed to others.",
    "timeout_check_interval": "How often the task and Worker timeouts are checked. The first check waits five "
                              "intervals after start-up, so Workers can reconnect after a restart.",
    "sleep_check_interval": "How often Workers' sleep schedules are applied.",
    "blocklist_threshold": "After this many failures of one Worker on one job's tasks of one type, that Worker "
                           "gets no more of them.",
    "task_fail_after_softfail_count": "How many Workers may fail a task before it fails for good.",
    "mqtt": "Sending the Manager's events to an MQTT broker.",
    "mqtt.client": "The MQTT connection.",
    "mqtt.client.enabled": "Send events to the broker.",
    "mqtt.client.broker": "Broker URL, like `tcp://mqtt.studio.lan:1883`.",
    "mqtt.client.clientID": "Client ID used towards the broker.",
    "mqtt.client.topic_prefix": "Prefix of every topic the Manager publishes to.",
    "mqtt.client.username": "User name at the broker (empty: none).",
    "mqtt.client.password": "Password at the broker. The web UI and API show it masked.",
    "trusted_proxies": "Addresses or networks (like `10.0.0.0/8`) of reverse proxies in front of the Manager, "
                       "whose `X-Forwarded-For`, `X-Real-IP` and `X-Forwarded-Host` headers are believed. "
                       "Empty: nobody's.",
    "allowed_origins": "Web origins besides the Manager's own address (like `https://farm.example`) whose pages "
                       "may open the web UI's live-update connection.",
    "auth": "Users, roles, API tokens and the audit log; see docs/auth.md.",
    "auth.enabled": "Require a user for everything but the version, the web UI's files and its login page; "
                    "Workers need a `worker` user's token to register. Off: anyone who can reach the Manager "
                    "may do anything, as with upstream Flamenco.",
    "webhooks": "Receivers of signed JSON POSTs about job and Worker status changes: a list of "
                "`{url, events, secret}` with events `job-status` and/or `worker-status`; see docs/events-out.md.",
    "variables": "Named values that job types use as `{name}`, looked up per platform of the Worker (and "
                 "two-way ones mapped between platforms); see docs/user-guide/storage.md.",
}

# Defaults that depend on the machine the Manager runs on.
DEFAULT_TEXT: dict[str, str] = {
    "shaman.enabled": "`true` (`false` on Windows)",
}

# Settings outside RESTART_KEYS that are still read only at start-up: the Shaman
# garbage collector's loop is started with its period.
READ_AT_START = ("shaman.garbageCollect.period",)

_TYPE_NAMES = {str: "text", bool: "true/false", int: "whole number", timedelta: "duration"}


def settings() -> Iterator[tuple[str, Any, Any, str]]:
    """(YAML path, type, default, kind) of every setting, in file order; kind is "section" or "value"."""
    yield from _walk(Config(), "")


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, Any, Any, str]]:
    hints = get_type_hints(type(obj))
    for f in fields(obj):
        key = f.metadata.get("key", f.name)
        path = f"{prefix}.{key}" if prefix else key
        value = getattr(obj, f.name)
        if is_dataclass(value):
            yield path, hints[f.name], value, "section"
            yield from _walk(value, path)
        else:
            yield path, hints[f.name], value, "value"


def _type_name(kind: Any) -> str:
    if get_origin(kind) is list:
        return f"list of {_TYPE_NAMES.get(get_args(kind)[0], 'values')}"
    return _TYPE_NAMES.get(kind, "mapping")


def _default_text(path: str, value: Any) -> str:
    if path in DEFAULT_TEXT:
        return DEFAULT_TEXT[path]
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if value == "" or value == []:
        return "empty"
    if isinstance(value, dict):
        return "see below"
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    """The whole reference as Markdown."""
    out = [
        "# Manager configuration reference",
        "",
        "<!-- Generated by `make docs` from flamenco_pkg/manager/config/ (reference.py holds the words). "
        "Do not edit by hand. -->",
        "",
        "The Manager reads `flamenco-manager.yaml` from its working directory (`-config FILE` names another).",
        "A missing file, or a missing key, means the default below; `flamenco-manager.pyz -write-config` writes",
        "the file with every setting. Settings changed in the web UI are checked, saved to the file and used at",
        "once, except those marked *at restart*. A setting the Manager does not know is logged and ignored; a",
        "value of the wrong kind stops the Manager with a message naming the key.",
        "",
        "Durations are written like `10m`, `1h30m`, `90s` or `0`.",
        "",
    ]
    groups: dict[str, list[tuple[str, Any, Any]]] = {"": []}
    for path, kind, value, what in settings():
        if what == "section":
            groups.setdefault(path, [])
        else:
            groups.setdefault(path.rpartition(".")[0], []).append((path, kind, value))
    for section, rows in groups.items():
        out += ["", f"## `{section}`" if section else "## Top level", ""]
        if section:
            out += [DESCRIPTIONS.get(section, ""), ""]
        if not rows:
            continue
        out += ["| key | type | default | applies | description |", "|---|---|---|---|---|"]
        for path, kind, value in rows:
            later = path.split(".")[0] in RESTART_KEYS or path in READ_AT_START
            applies = "at restart" if later else "at once"
            out.append(f"| `{path}` | {_type_name(kind)} | {_default_text(path, value)} | {applies} | "
                       f"{_cell(DESCRIPTIONS.get(path, ''))} |")
    variables = yaml.safe_dump({"variables": config_to_dict(Config())["variables"]}, sort_keys=False,
                               default_flow_style=False)
    out += [
        "",
        "## `variables`",
        "",
        DESCRIPTIONS["variables"],
        "Each value names its `platform` (or a list, `platforms`: `linux`, `windows`, `darwin`, or `all`) and",
        "its `audience` (`all`, `workers` or `users`). Values for `all` are the base; a value for the Worker's own",
        "platform wins. With `is_twoway: true` the values are path prefixes of the same folder on each platform.",
        "A configured variable replaces the default one of the same name; `jobs` is defined by the Manager itself.",
        "",
        "Default:",
        "",
        "```yaml",
        variables.rstrip(),
        "```",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """`python -m flamenco_pkg.manager.config.reference [FILE]`: write the reference (stdout without FILE)."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if not args:
        sys.stdout.write(text)
        return 0
    Path(args[0]).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
