"""The creator's analytics pages: the last 30 days, and one session's curve. Approved creators only.

Not signed in: the log-in page; signed in without creator rights, or another creator's session: 403.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from streams.models import Stream

from . import selectors
from .models import BUCKET_MS


def creator_only(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_approved_creator:
            raise PermissionDenied
        return view(request, Stream.objects.get(user=request.user), *args, **kwargs)

    return wrapper


@require_GET
@creator_only
def overview(request: HttpRequest, stream: Stream) -> HttpResponse:
    sessions = selectors.session_list(stream=stream)
    days = selectors.day_list(stream=stream, sessions=sessions)
    chart = {
        "days": [d.date.isoformat() for d in days],
        "hours": [d.hours_streamed for d in days],
        "minutes": [d.minutes_watched for d in days],
        "followers": [d.followers_gained for d in days],
    }
    context = {"sessions": sessions, "days": days, "chart": chart, "chat_stored": selectors.chat_stored()}
    return render(request, "analytics/overview.html", context)


@require_GET
@creator_only
def session(request: HttpRequest, stream: Stream, session_id: int) -> HttpResponse:
    found = selectors.session_get(session_id=session_id)
    if found is None:
        raise Http404("No such session.")
    if found.stream_id != stream.pk:
        raise PermissionDenied
    figures, points = selectors.session_detail(session=found)
    chat = selectors.chat_rate(session=found)
    chart = {
        "t": [p.t // 1000 for p in points],
        "viewers": [p.viewers for p in points],
        "peak": [p.peak for p in points],
        "chatT": [m.t // 1000 for m in chat],
        "chatMessages": [m.messages for m in chat],
    }
    context = {
        "figures": figures,
        "points": points,
        "chat": chat,
        "chart": chart,
        "interval_seconds": BUCKET_MS // 1000,
        "poll_seconds": settings.WATCH_POLL_SECONDS,
        "chat_stored": selectors.chat_stored(),
    }
    return render(request, "analytics/session.html", context)
