"""`exec`: run any program directly (no shell); exit code 0 is success."""

from __future__ import annotations

from . import CommandContext
from .params import mandatory_str, optional_list


def exec_argv(params: dict) -> list[str]:
    return [mandatory_str("exec", params, "exe"), *optional_list("exec", params, "args")]


def run(ctx: CommandContext) -> None:
    ctx.run(exec_argv(ctx.params), None)
