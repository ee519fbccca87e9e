"""Domain errors: what a service refuses, in words the person who asked may read.

Services raise these (or the door's ``LiveKitError``); they never know about HTTP. The API answers them
through one DRF exception handler (``streamit.api_errors``) and the pages show the same message, so a
refusal reads the same wherever it happens. This module imports no app: every app may raise from it.
"""

INVALID = "invalid"
FORBIDDEN = "forbidden"
MISSING = "missing"
CONFLICT = "conflict"
TOO_MANY = "too_many"
UNAVAILABLE = "unavailable"

# The one mapping of a refusal's kind to an HTTP status.
STATUS = {INVALID: 400, FORBIDDEN: 403, MISSING: 404, CONFLICT: 409, TOO_MANY: 429, UNAVAILABLE: 503}


class DomainError(Exception):
    """A request that cannot be honoured. ``code`` is one of ``STATUS``'s keys.

    ``extra`` adds fields beside ``detail`` in the API's answer (e.g. a machine-readable ``reason``), and
    ``retry_after`` (seconds) becomes its Retry-After header.
    """

    def __init__(
        self, message: str, code: str = INVALID, *, extra: dict | None = None, retry_after: int | None = None
    ):
        if code not in STATUS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.message = message
        self.code = code
        self.extra = extra or {}
        self.retry_after = retry_after

    @property
    def status(self) -> int:
        return STATUS[self.code]
