"""The API's one error path: every refusal becomes ``{"detail": "…"}`` with its status.

DRF calls ``exception_handler`` for any exception an API view raises. Domain errors and the door's
``LiveKitError`` get their status here (nowhere else); DRF's own errors keep theirs. The body is always
``{"detail": "<one sentence>"}``; field errors add ``"fields": {"<name>": "<message>"}`` beside it, so a
client can show the general message or point at each field.
"""

from django.http import JsonResponse
from django.utils.encoding import force_str
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from streams.livekit import UNAVAILABLE as LIVEKIT_UNAVAILABLE
from streams.livekit import LiveKitError

from .errors import UNAVAILABLE, DomainError

LIVEKIT_DOWN = "The video server is unavailable right now; nothing was changed. Try again in a minute."
LIVEKIT_REFUSED = "The video server refused the request; nothing was changed. Please tell the site's staff."

# The OpenAPI shape of every error body (drf-spectacular raw schema).
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["detail"],
}


def error_responses(descriptions: dict[int, str]) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for error statuses, each with the one error body."""
    return {code: OpenApiResponse(ERROR_SCHEMA, description=text) for code, text in descriptions.items()}


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The refusal ``exc`` stands for, for the API and the pages alike; None for anything else."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, LiveKitError):
        message = LIVEKIT_DOWN if exc.kind == LIVEKIT_UNAVAILABLE else LIVEKIT_REFUSED
        return DomainError(message, UNAVAILABLE)
    return None


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [m for item in value.values() for m in _messages(item)]
    if isinstance(value, list | tuple):
        return [m for item in value for m in _messages(item)]
    return [force_str(value)]


def _fields(value, prefix: str = "") -> dict[str, str]:
    """Field errors flattened to one sentence per field; nested fields are named ``outer.inner``."""
    if isinstance(value, dict):
        found = {}
        for key, item in value.items():
            found.update(_fields(item, f"{prefix}{key}."))
        return found
    if isinstance(value, list | tuple) and any(isinstance(item, dict | list) for item in value):
        found = {}
        for index, item in enumerate(value):
            found.update(_fields(item, f"{prefix}{index}."))
        return found
    return {prefix.removesuffix("."): " ".join(_messages(value))}


def error_body(data) -> dict:
    """DRF's error data (a string, a list or a map of fields) as ``{"detail": str, "fields"?: {...}}``."""
    if not isinstance(data, dict):
        return {"detail": " ".join(_messages(data))}
    general_keys = ("detail", api_settings.NON_FIELD_ERRORS_KEY)
    general = [m for key in general_keys if key in data for m in _messages(data[key])]
    fields = _fields({key: value for key, value in data.items() if key not in general_keys})
    body = {"detail": " ".join(general) or "; ".join(f"{name}: {text}" for name, text in fields.items())}
    if fields:
        body["fields"] = fields
    return body


def refusal_body(refusal: DomainError) -> dict:
    """The body ``exception_handler`` gives a domain error, for the one path that answers outside DRF's
    dispatch (``viewers.token_fast``: its refusals carry no header)."""
    return {"detail": refusal.message, **refusal.extra}


def exception_handler(exc, context):
    refusal = as_domain_error(exc)
    if refusal is not None:
        exc = exceptions.APIException(refusal.message)
        exc.status_code = refusal.status
        if refusal.retry_after is not None:
            exc.wait = refusal.retry_after  # DRF writes it as Retry-After
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = error_body(response.data)
        if refusal is not None:
            response.data.update(refusal.extra)
    return response


# --- Errors raised before any API view runs (an unknown URL, a crash) --------------------------------
# Django answers these itself, with HTML pages; under /api/ they get the API's body too.


def _api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _api(request):
        return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api(request):
        return JsonResponse({"detail": "Something went wrong on our side; it has been logged."}, status=500)
    return defaults.server_error(request)
