"""Rate limits for the public forms (sign-up, password reset), counted in the shared cache per client IP.

django-ratelimit does the counting; we answer 429 with Retry-After ourselves so a person sees a page that
says when to try again, and a script gets the standard header.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import _split_rate, is_ratelimited


def limit_posts(*, group: str, rate_setting: str) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            rate = getattr(settings, rate_setting)
            if request.method == "POST" and is_ratelimited(
                request, group=group, key="ip", rate=rate, method="POST", increment=True
            ):
                _, period = _split_rate(rate)
                response = render(request, "429.html", {"retry_after": period}, status=429)
                # The window is fixed, so its full length is a safe upper bound for the wait.
                response["Retry-After"] = str(period)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
