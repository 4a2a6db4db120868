"""Job types: Flamenco 3 compatible JavaScript job compiler scripts.

`JobTypeRegistry` is the entry point for the API layer; the exceptions carry
the HTTP status and message the API should reply with.
"""

from .errors import CompileError, EtagMismatch, JobTypeBroken, JobTypeError, JobTypeUnknown
from .models import AuthoredCommand, AuthoredTask, CompiledJob
from .registry import JobTypeRegistry

__all__ = [
    "AuthoredCommand",
    "AuthoredTask",
    "CompileError",
    "CompiledJob",
    "EtagMismatch",
    "JobTypeBroken",
    "JobTypeError",
    "JobTypeRegistry",
    "JobTypeUnknown",
]
