"""Plain data produced by compiling a job: what the storage layer persists."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AuthoredCommand:
    name: str
    parameters: dict
    total_step_count: int = 0  # 0 means "this command does not report steps"


@dataclass
class AuthoredTask:
    uuid: str
    name: str
    type: str
    priority: int
    commands: list[AuthoredCommand] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)  # UUIDs of tasks in the same job

    @property
    def steps_total(self) -> int:
        """Steps the web UI expects: a command without step reporting still counts as one."""
        return sum(max(1, command.total_step_count) for command in self.commands)


@dataclass
class CompiledJob:
    settings: dict
    metadata: dict[str, str]
    tasks: list[AuthoredTask]
