"""What a viewer may see: streams, lists and search, with blocks applied both ways.

Pages and the viewer API read through these functions, so a block hides the same things everywhere: a
creator who blocked a viewer does not exist for that viewer, and a viewer who blocked a creator no longer
sees them either. Every list is one query (plus DRF's count), whatever the number of streams.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Block, Follow, User
from accounts.validators import could_be_username
from streams import tokens
from streams.models import Stream


def _streams_visible_to(viewer: User | None) -> QuerySet[Stream]:
    streams = Stream.objects.filter(user__creator_status="approved", user__is_active=True).select_related(
        "user"
    )
    if viewer is None:
        return streams
    return streams.exclude(
        Exists(Block.objects.filter(blocker=OuterRef("user"), blocked=viewer))
        | Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("user")))
    )


def stream_list_live(*, viewer: User | None) -> QuerySet[Stream]:
    """Live streams, most viewers first."""
    return _streams_visible_to(viewer).filter(is_live=True).order_by("-viewer_count", "pk")


def stream_list_following(*, viewer: User) -> QuerySet[Stream]:
    """Streams of creators the viewer follows, live ones first."""
    followed = Follow.objects.filter(follower=viewer, following=OuterRef("user"))
    return _streams_visible_to(viewer).filter(Exists(followed)).order_by("-is_live", "-viewer_count", "pk")


def stream_list_recommended(*, viewer: User | None) -> QuerySet[Stream]:
    """Live streams of creators the viewer does not follow, never their own; for a guest, all live."""
    streams = stream_list_live(viewer=viewer)
    if viewer is None:
        return streams
    followed = Follow.objects.filter(follower=viewer, following=OuterRef("user"))
    return streams.exclude(user=viewer).exclude(Exists(followed))


def stream_search(*, viewer: User | None, query: str) -> QuerySet[Stream]:
    """Streams whose creator's username or title contains the query (any case), live ones first."""
    # Control characters match nothing we store, and PostgreSQL refuses NUL in a query outright.
    query = "".join(ch for ch in query if ch.isprintable())
    return (
        _streams_visible_to(viewer)
        .filter(Q(user__username__icontains=query) | Q(title__icontains=query))
        .order_by("-is_live", "-viewer_count", "pk")
    )


def stream_get_for_viewer(*, username: str, viewer: User | None) -> Stream | None:
    """The creator's stream by username in any case, or None if it does not exist for this viewer."""
    if not could_be_username(username):
        return None
    return _streams_visible_to(viewer).filter(user__username__lower=username.lower()).first()


def blocked_users(*, user: User) -> QuerySet[User]:
    return User.objects.filter(blocked_by_set__blocker=user).order_by("username")


@dataclass(frozen=True)
class ChatAccess:
    is_creator: bool
    is_guest: bool
    follows: bool
    can_chat: bool
    reason: str | None
    # The seed's "delay messages": held before sending, for everyone but the creator.
    delayed: bool


def chat_access(*, stream: Stream, viewer: User | None) -> ChatAccess:
    """May this visitor chat in this stream, and why not: the token's policy, answered for a page."""
    is_creator = viewer is not None and viewer.pk == stream.user_id
    follows = (
        viewer is not None
        and not is_creator
        and Follow.objects.filter(follower=viewer, following_id=stream.user_id).exists()
    )
    # A viewer blocked by the creator never reaches here (the stream does not exist for them).
    can_chat, reason = tokens.chat_permission(
        chat_enabled=stream.is_chat_enabled,
        followers_only=stream.is_chat_followers_only,
        is_creator=is_creator,
        is_guest=viewer is None,
        follows=follows,
        blocked=False,
    )
    return ChatAccess(
        is_creator=is_creator,
        is_guest=viewer is None,
        follows=follows,
        can_chat=can_chat,
        reason=reason,
        delayed=stream.is_chat_delayed and not is_creator,
    )


# --- The host behind a token request, cached ----------------------------------------------------------

HOST_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Host:
    """What a token needs to know about the creator; the same for every caller, so it is cached.

    Who the caller is to the creator (follows, blocked) is never cached: see ``relation_to_host``.
    """

    user_id: int
    username: str
    is_chat_enabled: bool
    is_chat_followers_only: bool
    is_chat_delayed: bool


def _host_key(username: str) -> str:
    return f"host:{username.lower()}"


def _host_id_key(user_id: int) -> str:
    return f"host-id:{user_id}"


def host_forget(*, user_id: int, username: str) -> None:
    """Drop the cached host (chat settings, approval, activity or name changed)."""
    cache.delete_many([_host_key(username), _host_id_key(user_id)])


def _host_from_db(**lookup) -> Host | None:
    row = (
        Stream.objects.filter(user__creator_status="approved", user__is_active=True, **lookup)
        .values_list(
            "user_id", "user__username", "is_chat_enabled", "is_chat_followers_only", "is_chat_delayed"
        )
        .first()
    )
    return Host(*row) if row else None


def host_get(*, username: str | None = None, user_id: int | None = None) -> Host | None:
    """The approved creator by username (any case) or id, from the cache when it can be."""
    if username is not None:
        if not could_be_username(username):
            return None
        key, lookup = _host_key(username), {"user__username__lower": username.lower()}
    else:
        key, lookup = _host_id_key(user_id), {"user_id": user_id}
    host = cache.get(key)
    if host is None:
        host = _host_from_db(**lookup)
        if host is not None:
            cache.set(key, host, HOST_CACHE_SECONDS)
    return host


@dataclass(frozen=True)
class Relation:
    follows: bool
    blocked: bool  # a block either way: the host does not exist for this viewer


def relation_to_host(*, viewer: User, host_id: int) -> Relation:
    """Follow and block facts in one query, read fresh on every request so a block is never stale."""
    row = (
        User.objects.filter(pk=viewer.pk)
        .annotate(
            follows=Exists(Follow.objects.filter(follower=viewer, following_id=host_id)),
            blocked=Exists(
                Block.objects.filter(
                    Q(blocker_id=host_id, blocked=viewer) | Q(blocker=viewer, blocked_id=host_id)
                )
            ),
        )
        .values("follows", "blocked")
        .get()
    )
    return Relation(follows=bool(row["follows"]), blocked=bool(row["blocked"]))
