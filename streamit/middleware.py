"""A cap on the size of every request body, checked before anything reads it.

Django limits form fields in memory (DATA_UPLOAD_MAX_MEMORY_SIZE) but spools file parts of any size to
disk, and CSRF checks and DRF's parsers read the body before a view can refuse it: a 100 MB multipart
POST to the anonymous token endpoint was written to disk and answered 200. Content-Length is what the
WSGI server lets Django read, so it is the number to check; a request over the cap gets 413 (JSON under
/api/, like every other API error) and its body is never read.

This holds under WSGI (the Procfile's granian, and gunicorn); Django's ASGI handler reads a whole body
before any middleware runs, so an ASGI deployment needs its server's own body limit.

Views that take file uploads say so with ``@accepts_uploads`` (or ``accepts_uploads = True`` on a DRF view)
and get THUMBNAIL_MAX_BYTES plus room for the multipart envelope; everything else gets REQUEST_MAX_BYTES.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

# Boundaries, part headers and the form's other fields around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024


def accepts_uploads(view: Callable) -> Callable:
    """Mark a view whose POST/PUT may carry an uploaded image (the larger cap applies)."""
    view.accepts_uploads = True
    return view


def upload_max_bytes() -> int:
    return settings.THUMBNAIL_MAX_BYTES + MULTIPART_OVERHEAD


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0  # Django reads nothing from a body whose length it cannot parse


def _too_large(request: HttpRequest, limit: int) -> HttpResponse:
    message = f"The request body is larger than {limit} bytes."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestBodyLimitMiddleware:
    """Refuse an oversized body: at once above the largest cap any view has, per view in process_view.

    It must come before CsrfViewMiddleware, whose process_view reads request.POST (and so the body).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max(settings.REQUEST_MAX_BYTES, upload_max_bytes())
        if _content_length(request) > limit:
            return _too_large(request, limit)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        uploads = getattr(view_func, "accepts_uploads", False) or getattr(
            view_class, "accepts_uploads", False
        )
        limit = max(settings.REQUEST_MAX_BYTES, upload_max_bytes()) if uploads else settings.REQUEST_MAX_BYTES
        if _content_length(request) > limit:
            return _too_large(request, limit)
        return None
