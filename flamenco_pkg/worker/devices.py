"""One Worker slot per GPU: which devices, and what each slot is called and where it keeps its files.

Pure functions only; the CLI does the I/O (running `nvidia-smi`, creating
folders). Without devices there is one slot that is exactly the Worker as it
always was: its name, its Flamenco home, no extra environment. With devices,
slot `gpu<N>` is a separate Worker as far as the Manager can tell: its own
name `<name>-gpu<N>`, credentials, offline queue, temporary folder and log,
all in `<Flamenco home>/gpu<N>/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

AUTO = "auto"
SLOT_LOG_FILE = "flamenco-worker.log"

_NVIDIA_SMI_LINE = re.compile(r"^GPU (\d+):")


class DevicesError(ValueError):
    """The devices setting cannot be used; the message says why."""


def parse_devices(value: object) -> str | list[str]:
    """`0,1`, `[0, 1]`, `auto` or nothing: AUTO, or the device indices in order ([] for none).

    Indices are what CUDA_VISIBLE_DEVICES takes; each may appear once, since two
    slots on one GPU would share it without either knowing.
    """
    if value is None:
        return []
    if isinstance(value, bool):
        raise DevicesError(f"expected device numbers like 0,1 or 'auto', got {value!r}")
    if isinstance(value, int):
        items: list[object] = [value]
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == AUTO:
            return AUTO
        items = [part for part in re.split(r"[,\s]+", text) if part]
    elif isinstance(value, list):
        items = list(value)
    else:
        raise DevicesError(f"expected device numbers like 0,1 or 'auto', got {value!r}")
    devices: list[str] = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit():
            raise DevicesError(f"{item!r} is not a device number (0, 1, ... as nvidia-smi -L lists them)")
        number = str(int(text))
        if number in devices:
            raise DevicesError(f"device {number} is listed twice")
        devices.append(number)
    return devices


def parse_nvidia_smi(output: str) -> list[str]:
    """Device indices from `nvidia-smi -L` (lines like `GPU 0: NVIDIA GeForce ... (UUID: GPU-...)`)."""
    found = []
    for line in output.splitlines():
        m = _NVIDIA_SMI_LINE.match(line.strip())
        if m and m.group(1) not in found:
            found.append(m.group(1))
    return found


@dataclass(frozen=True)
class SlotPlan:
    """Who one slot is to the Manager and where its files live."""

    label: str          # "gpu0"; "" for the plain Worker
    name: str           # the worker name sent at registration and sign-on
    home: Path          # credentials and offline queue live here
    device: str | None  # GPU index, None for the plain Worker

    @property
    def temp_dir(self) -> Path | None:
        return self.home / "tmp" if self.device is not None else None

    @property
    def log_file(self) -> Path | None:
        return self.home / SLOT_LOG_FILE if self.device is not None else None

    def child_env(self, device_type: str) -> dict[str, str]:
        """Environment added for the slot's programs: only its GPU, its own temporary folder."""
        if self.device is None:
            return {}
        env = {"CUDA_VISIBLE_DEVICES": self.device, "HIP_VISIBLE_DEVICES": self.device}
        if device_type == "ONEAPI":
            env["ONEAPI_DEVICE_SELECTOR"] = f"level_zero:{self.device}"
        temp = str(self.temp_dir)
        env.update(TMPDIR=temp, TEMP=temp, TMP=temp)
        return env


def plan_slots(devices: list[str], base_name: str, home: Path) -> list[SlotPlan]:
    """One plan per device, or the single plain Worker when there are none."""
    if not devices:
        return [SlotPlan(label="", name=base_name, home=home, device=None)]
    return [SlotPlan(label=f"gpu{d}", name=f"{base_name}-gpu{d}", home=home / f"gpu{d}", device=d)
            for d in devices]
