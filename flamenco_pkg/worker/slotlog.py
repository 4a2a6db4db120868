"""Which GPU slot a log line comes from.

A slot's threads carry its label in their names (`gpu0|worker-loop`), and
threads they start inherit it through `child_thread_name`. With slots, every
line on stderr gets `[gpu0] ` in front, and each slot also writes its own
lines to a log file in its folder. Without slots nothing changes.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path

SEP = "|"
SLOT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(slot)s%(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_BACKUPS = 3


def slot_of(thread_name: str) -> str:
    """The slot label in a thread name, "" for threads of no slot."""
    return thread_name.split(SEP, 1)[0] if SEP in thread_name else ""


def thread_name(label: str, name: str) -> str:
    return f"{label}{SEP}{name}" if label else name


def child_thread_name(name: str) -> str:
    """`name` for a thread started by the current one, keeping the current thread's slot."""
    return thread_name(slot_of(threading.current_thread().name), name)


class SlotTag(logging.Filter):
    """Adds `record.slot` ("[gpu0] " or "") for the format."""

    def filter(self, record: logging.LogRecord) -> bool:
        label = slot_of(record.threadName or "")
        record.slot = f"[{label}] " if label else ""
        return True


class OnlySlot(logging.Filter):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def filter(self, record: logging.LogRecord) -> bool:
        return slot_of(record.threadName or "") == self.label


def add_slot_logging(slots: list[tuple[str, Path]]) -> None:
    """Tag stderr lines with their slot; write each slot's lines to its own (rotated) file."""
    root = logging.getLogger()
    formatter = logging.Formatter(SLOT_FORMAT, datefmt=DATE_FORMAT)
    for handler in root.handlers:
        handler.addFilter(SlotTag())
        handler.setFormatter(formatter)
    for label, path in slots:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS,
                                                       encoding="utf-8")
        handler.addFilter(OnlySlot(label))
        handler.addFilter(SlotTag())
        handler.setFormatter(formatter)
        root.addHandler(handler)
