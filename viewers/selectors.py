"""What a viewer may see: streams, lists and search, with blocks applied both ways.

Pages and the viewer API read through these functions, so a block hides the same things everywhere: a
creator who blocked a viewer does not exist for that viewer, and a viewer who blocked a creator no longer
sees them either. Every list is one query (plus DRF's count), whatever the number of streams.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Block, Follow, User
from accounts.validators import could_be_username
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
