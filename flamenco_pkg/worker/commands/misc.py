"""`echo` and `sleep`: the commands of the echo-sleep-test job type."""

from __future__ import annotations

import math

from . import CommandContext
from .params import TaskCanceled, go_duration, go_quote, go_type, go_value, invalid, missing


def echo(ctx: CommandContext) -> None:
    if "message" not in ctx.params:
        raise missing("echo", "message", ctx.params)
    ctx.log(f"echo: {go_quote(go_value(ctx.params['message']))}")


def sleep_seconds(params: dict) -> int:
    """Whole seconds to sleep: numbers are truncated toward zero, as upstream does."""
    if "duration_in_seconds" not in params:
        raise missing("sleep", "duration_in_seconds", params)
    value = params["duration_in_seconds"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid("sleep", "duration_in_seconds", value, f"bad type {go_type(value)}, expecting int or float")
    seconds = int(value)
    if seconds < 0:
        raise invalid("sleep", "duration_in_seconds", value, "cannot be negative")
    return seconds


def sleep(ctx: CommandContext) -> None:
    seconds = sleep_seconds(ctx.params)
    if ctx.cancel.wait(seconds):
        raise TaskCanceled()
    ctx.log(f"slept {go_duration(seconds)}")
