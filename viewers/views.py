"""Viewer pages: home, search, the creator page and the watch page. They read without JavaScript.

Lists and lookups come from the same selectors as the viewer API; follow and block forms call the same
services as the API (the watch page's JS uses the API itself, so it can update the chat without a reload).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from streams.identities import page_identities
from streams.selectors import chat_access, host_get, host_of
from streams.stream_state import stream_state_get

from . import selectors

HOME_SECTION_SIZE = 12
SEARCH_RESULTS = 48


def home(request: HttpRequest) -> HttpResponse:
    viewer = request.user if request.user.is_authenticated else None
    # For a guest "Recommended" would repeat "Live now" (all live streams): signed-in viewers only.
    context = {
        "live": selectors.stream_list_live(viewer=viewer)[:HOME_SECTION_SIZE],
        "following": selectors.stream_list_following(viewer=viewer)[:HOME_SECTION_SIZE] if viewer else [],
        "recommended": selectors.stream_list_recommended(viewer=viewer)[:HOME_SECTION_SIZE] if viewer else [],
    }
    return render(request, "viewers/home.html", context)


def search(request: HttpRequest) -> HttpResponse:
    viewer = request.user if request.user.is_authenticated else None
    query = request.GET.get("q", "").strip()[:100]
    results = selectors.stream_search(viewer=viewer, query=query)[:SEARCH_RESULTS] if query else []
    return render(request, "viewers/search.html", {"query": query, "results": results})


def _stream_for_page(request: HttpRequest, username: str):
    """The creator's stream as this visitor may see it, or 404 (unknown, not a creator, or a block)."""
    viewer = request.user if request.user.is_authenticated else None
    stream = selectors.stream_get_for_viewer(username=username, viewer=viewer)
    if stream is None:
        raise Http404("No such creator.")
    return stream, viewer


def creator(request: HttpRequest, username: str) -> HttpResponse:
    stream, viewer = _stream_for_page(request, username)
    if stream.user.username != username:
        return redirect("viewers:creator", stream.user.username, permanent=True)
    context = {
        "creator": stream.user,
        "stream": stream,
        "is_following": chat_access(host=host_of(stream), viewer=viewer).follows,
        "sessions": stream.sessions.all()[:10],
    }
    return render(request, "viewers/creator.html", context)


def watch(request: HttpRequest, username: str) -> HttpResponse:
    # The stream from the state the status endpoint polls and the chat rules from the token's host, both
    # cached; the one query left is the follow and block facts of a signed-in visitor (a block: 404).
    viewer = request.user if request.user.is_authenticated else None
    state = stream_state_get(username=username)
    host = host_get(user_id=state.user_id) if state is not None else None
    access = chat_access(host=host, viewer=viewer) if host is not None else None
    if access is None or access.blocked:
        raise Http404("No such creator.")
    if state.username != username:
        return redirect("viewers:watch", state.username, permanent=True)
    context = {
        "creator": {"pk": state.user_id, "username": state.username},
        "stream": state,
        "identities": page_identities(state.user_id),
        "is_following": access.follows,
        "can_chat": access.can_chat,
        "chat_reason": access.reason,
        "chat_delay_seconds": access.delay_seconds,
        # Slow mode spares the creator; the chat API spares moderators too (the page learns it on refusal).
        "chat_slow_seconds": 0 if access.is_creator else host.chat_slow_seconds,
        "poll_seconds": settings.WATCH_POLL_SECONDS,
    }
    return render(request, "viewers/watch.html", context)


@login_required
@require_POST
def follow(request: HttpRequest, username: str) -> HttpResponse:
    stream, viewer = _stream_for_page(request, username)
    try:
        if request.POST.get("action") == "unfollow":
            account_services.follow_delete(follower=viewer, following=stream.user)
        else:
            account_services.follow_create(follower=viewer, following=stream.user)
    except account_services.AccountError as error:
        messages.error(request, str(error))
    return redirect("viewers:watch", stream.user.username)


@login_required
@require_POST
def block(request: HttpRequest, username: str) -> HttpResponse:
    stream, viewer = _stream_for_page(request, username)
    try:
        account_services.block_create(blocker=viewer, blocked=stream.user)
    except account_services.AccountError as error:
        messages.error(request, str(error))
        return redirect("viewers:watch", stream.user.username)
    messages.success(request, f"You blocked {stream.user.username}. You can unblock them on this page.")
    return redirect("viewers:blocked")


@login_required
@require_GET
def blocked(request: HttpRequest) -> HttpResponse:
    """Whom you blocked, for creators and viewers alike, each with Unblock."""
    return render(request, "viewers/blocked.html", {"blocked": selectors.blocked_users(user=request.user)})


@login_required
@require_POST
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    target = selectors.blocked_users(user=request.user).filter(username__lower=username.lower()).first()
    if target is None:
        messages.error(request, f"You have not blocked {username}.")
    else:
        account_services.block_delete(blocker=request.user, blocked=target)
        messages.success(request, f"You unblocked {target.username}.")
    return redirect("viewers:blocked")
