"""Exceptions of the job-type subsystem, each carrying the HTTP reply it maps to.

The same failure answers differently depending on the endpoint (a broken
script is a 500 on `GET /jobs/type/{name}` but a 400 on submission), so the
status is an instance attribute that the raiser may override.
"""

from __future__ import annotations


class JobTypeError(Exception):
    """Base class: `message` is what the API reply's `message` field should say."""

    default_status = 500

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = self.default_status if http_status is None else http_status


class JobTypeUnknown(JobTypeError):
    """No such job type (or its script does not even parse): 400 on submit, 404 on GET."""

    default_status = 400


class JobTypeBroken(JobTypeError):
    """The script loads but its top level fails or JOB_TYPE is missing/malformed."""

    default_status = 500


class CompileError(JobTypeError):
    """compileJob() failed, ran away, or produced an unusable job: 400 with the reason."""

    default_status = 400


class EtagMismatch(JobTypeError):
    """The submitter's cached job type is outdated (Blender add-on must refresh)."""

    default_status = 412

    def __init__(self, message: str = "rejecting job because its settings are outdated, refresh the job type",
                 *, http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
