"""Domain errors: what a service refuses, in words the person who asked may read.

Services raise these (or the door's ``LiveKitError``); they never know about HTTP. The API answers them
through one DRF exception handler (``streamit.api_errors``) and the pages show the same message, so a
refusal reads the same wherever it happens. This module imports no app: every app may raise from it.
"""

INVALID = "invalid"
FORBIDDEN = "forbidden"
MISSING = "missing"
CONFLICT = "conflict"
UNAVAILABLE = "unavailable"

# The one mapping of a refusal's kind to an HTTP status.
STATUS = {INVALID: 400, FORBIDDEN: 403, MISSING: 404, CONFLICT: 409, UNAVAILABLE: 503}


class DomainError(Exception):
    """A request that cannot be honoured. ``code`` is one of ``STATUS``'s keys."""

    def __init__(self, message: str, code: str = INVALID):
        if code not in STATUS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.message = message
        self.code = code

    @property
    def status(self) -> int:
        return STATUS[self.code]
