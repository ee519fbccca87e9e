"""Rate limits for the public forms (sign-up, password reset), counted per client IP in the "limits" cache.

django-ratelimit counts (its public ``get_usage``); we answer 429 with Retry-After and the wait in words,
so a person sees when to try again and a script gets the standard header.

Only submissions that went through count (the view redirected): ten typos in a sign-up form lock nobody
out, ten accounts made from one address do. These limits fail closed: if the cache cannot be reached
the form answers 503 (logged) rather than creating accounts or sending mail without a limit.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.timesince import timeuntil
from django.utils.timezone import now
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def wait_in_words(seconds: int) -> str:
    if seconds < 60:
        return "less than a minute"
    moment = now()
    return timeuntil(moment + timedelta(seconds=seconds), moment)


def _usage(request: HttpRequest, *, group: str, rate: str, increment: bool) -> dict | None:
    return get_usage(request, group=group, key="ip", rate=rate, method="POST", increment=increment)


def limit_posts(*, group: str, rate_setting: str) -> Callable:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method != "POST":
                return view(request, *args, **kwargs)
            rate = getattr(settings, rate_setting)
            try:
                usage = _usage(request, group=group, rate=rate, increment=False)
                if usage is not None and usage["count"] >= usage["limit"]:
                    return too_many(request, seconds=max(usage["time_left"], 1))
                response = view(request, *args, **kwargs)
                if 300 <= response.status_code < 400:  # the form went through
                    _usage(request, group=group, rate=rate, increment=True)
            except (RedisError, OSError):
                logger.exception("The %s limit cannot be counted (cache unreachable): refusing", group)
                return render(request, "503.html", status=503)
            return response

        return wrapped

    return decorator


def too_many(request: HttpRequest, *, seconds: int) -> HttpResponse:
    response = render(request, "429.html", {"wait": wait_in_words(seconds)}, status=429)
    response["Retry-After"] = str(seconds)
    return response
