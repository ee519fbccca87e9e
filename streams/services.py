"""Creator-side writes: the right to stream (approval, revocation), stream keys (ingresses), stream info
and chat settings.

LiveKit is called in an order that cannot lose a working key: a new ingress is created and saved before
the old one is deleted. If LiveKit is unreachable before anything was saved, nothing changes and the
caller answers 503. If only the delete of an old key fails, the new key stands, the caller warns the
creator, and a background task keeps deleting the old one until LiveKit agrees (``reconcile`` also sweeps
ingresses no stream points to). A leaked key must die: every path that replaces or drops a key ends with
its ingress deleted at LiveKit.

Staff change a creator's right to stream only through ``creator_status_set`` (the admin's buttons, bulk
actions and the user form's status field alike): approval creates the Stream, anything else ends
streaming through ``live.stream_shutdown``, as deactivating or deleting the user does.
"""

import logging
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import CreatorStatus, User
from streamit.errors import DomainError
from streamit.text import clean_line, clean_text

from . import livekit, tokens
from .chat_rights import chat_rights_changed
from .live import stream_go_offline, stream_key_forget, stream_shutdown
from .models import Stream
from .selectors import Host, chat_access, host_changed
from .stream_state import stream_state_changed
from .tasks import livekit_release, schedule_retry

logger = logging.getLogger(__name__)

# Titles and descriptions are cleaned here (streamit.text), so the API and the dashboard form store the same.
TITLE_MAX = Stream._meta.get_field("title").max_length
DESCRIPTION_MAX = Stream._meta.get_field("description").max_length

OLD_KEY_WARNING = (
    "Your new key works, but the old one could not be revoked yet: LiveKit did not answer. "
    "We keep trying in the background."
)


class StreamError(DomainError):
    """A key change that cannot be made: "conflict" (a key exists), "missing" (no key) or "forbidden"
    (the right to stream was taken away during the request)."""


@dataclass(frozen=True)
class KeyResult:
    stream: Stream
    warning: str | None = None


def _locked_stream(user: User) -> Stream:
    return Stream.objects.select_for_update().get(user=user)


def _delete_old_ingress(ingress_id: str) -> str | None:
    """Delete a replaced ingress now, or hand it to the retry task. Returns a warning if it lives on."""
    try:
        livekit.ingress_delete(ingress_id=ingress_id)
    except livekit.LiveKitError as error:
        logger.warning(
            "Old ingress %s not deleted yet (%s); retrying in the background", ingress_id, error.kind
        )
        schedule_retry(livekit_release, ingress_ids=[ingress_id])
        return OLD_KEY_WARNING
    return None


NOT_A_CREATOR = "You can no longer stream: staff revoked your creator status."


def _may_still_stream(user: User) -> bool:
    # Read with the stream row locked: a revocation that committed first is seen here, and one still in
    # flight waits for this lock and then forgets (and deletes) the key saved under it.
    return User.objects.filter(pk=user.pk, is_active=True, creator_status=CreatorStatus.APPROVED).exists()


def _store_ingress(stream: Stream, ingress: livekit.Ingress) -> None:
    stream.ingress_id = ingress.ingress_id
    stream.ingress_type = ingress.ingress_type
    stream.server_url = ingress.url
    stream.stream_key = ingress.stream_key
    stream.save(update_fields=["ingress_id", "ingress_type", "server_url", "stream_key", "updated_at"])


def stream_ingress_create(*, user: User, ingress_type: str) -> KeyResult:
    """Generate a key; if the creator has one this is a reset: new ingress saved first, old one deleted."""
    # LiveKit first, outside any transaction: if it fails, nothing here has changed.
    ingress = livekit.ingress_create(user_id=user.pk, username=user.username, ingress_type=ingress_type)
    with transaction.atomic():
        stream = _locked_stream(user)
        revoked = not _may_still_stream(user)
        if not revoked:
            old_ingress_id = stream.ingress_id
            _store_ingress(stream, ingress)
            if stream.is_live:
                # The encoder on the old key is cut off: the stream is offline until OBS uses the new key.
                stream_go_offline(stream=stream)
    if revoked:  # revoked while LiveKit made the key: it must not outlive this request
        _delete_old_ingress(ingress.ingress_id)
        raise StreamError(NOT_A_CREATOR, "forbidden")
    # The new key is committed: only now kill the old one (and never hold the row lock over a network call).
    warning = _delete_old_ingress(old_ingress_id) if old_ingress_id else None
    stream.refresh_from_db()
    return KeyResult(stream=stream, warning=warning)


def stream_create(*, user: User, title: str, description: str, ingress_type: str) -> KeyResult:
    """The seed's createStream: set title and description and create the first key."""
    if Stream.objects.filter(user=user, ingress_id__isnull=False).exists():
        raise StreamError("You already have a stream key: reset it instead.", "conflict")
    ingress = livekit.ingress_create(user_id=user.pk, username=user.username, ingress_type=ingress_type)
    with transaction.atomic():
        stream = _locked_stream(user)
        revoked = not _may_still_stream(user)
        lost_race = revoked or bool(stream.ingress_id)
        if not lost_race:
            stream.title = clean_line(title, max_length=TITLE_MAX)
            stream.description = clean_text(description, max_length=DESCRIPTION_MAX)
            stream.save(update_fields=["title", "description", "updated_at"])
            stream_state_changed(user_id=stream.user_id)
            _store_ingress(stream, ingress)
    if lost_race:  # a concurrent create won (keep theirs) or a revocation did: delete ours at LiveKit
        _delete_old_ingress(ingress.ingress_id)
        if revoked:
            raise StreamError(NOT_A_CREATOR, "forbidden")
        raise StreamError("You already have a stream key: reset it instead.", "conflict")
    return KeyResult(stream=stream)


def stream_ingress_delete(*, user: User) -> Stream:
    """Delete the key at LiveKit, then here. If LiveKit cannot be reached the key stays (503).

    A reset may replace the key meanwhile: the row is forgotten only if it still holds the key deleted,
    read again under the row lock, so a key a reset just saved is never dropped while it works.
    """
    ingress_id = Stream.objects.filter(user=user).values_list("ingress_id", flat=True).get()
    if not ingress_id:
        raise StreamError("You have no stream key.", "missing")
    livekit.ingress_delete(ingress_id=ingress_id)
    with transaction.atomic():
        stream = _locked_stream(user)
        if stream.ingress_id == ingress_id:
            stream_key_forget(stream)
            if stream.is_live:
                stream_go_offline(stream=stream)
    stream.refresh_from_db()
    return stream


def stream_info_update(
    *,
    stream: Stream,
    title: str | None = None,
    description: str | None = None,
    thumbnail: UploadedFile | None = None,
) -> Stream:
    """Update what viewers see; only the fields given change. The thumbnail must be validated already."""
    fields = []
    if title is not None:
        stream.title = clean_line(title, max_length=TITLE_MAX)
        fields.append("title")
    if description is not None:
        stream.description = clean_text(description, max_length=DESCRIPTION_MAX)
        fields.append("description")
    if thumbnail is not None:
        old = stream.thumbnail.name if stream.thumbnail else None
        stream.thumbnail.save(thumbnail.name, thumbnail, save=False)
        fields.append("thumbnail")
    if fields:
        stream.save(update_fields=[*fields, "updated_at"])
        stream_state_changed(user_id=stream.user_id)  # the title and description pages show
        if thumbnail is not None and old and old != stream.thumbnail.name:  # never the file just saved
            stream.thumbnail.storage.delete(old)
    return stream


NO_SUCH_STREAM = "No such stream."


def viewer_token_issue(*, viewer: User | None, host: Host, guest_name: str = "") -> tokens.ViewerToken:
    """A token to watch the host's room, for a signed-in viewer, the creator, or a guest (None).

    The row of the permission table follows from who asks (the creator watching their own room gets the
    self-view identity, never the encoder's), the right to chat from ``chat_access``. A block either way
    makes the creator not exist for this viewer: no token, and the same 404 as an unknown name.
    """
    access = chat_access(host=host, viewer=viewer)
    if access.reason == tokens.CHAT_BLOCKED:
        raise DomainError(NO_SUCH_STREAM, "missing")
    if access.is_creator:
        return tokens.creator_self_view_token(
            user_id=host.user_id, username=host.username, can_chat=access.can_chat
        )
    if viewer is not None:
        return tokens.viewer_token(
            viewer_id=viewer.pk, host_id=host.user_id, name=viewer.username, can_chat=access.can_chat
        )
    return tokens.guest_token(host_id=host.user_id, guest_name=guest_name, can_chat=access.can_chat)


def stream_chat_settings_update(
    *,
    stream: Stream,
    is_chat_enabled: bool | None = None,
    is_chat_delayed: bool | None = None,
    is_chat_followers_only: bool | None = None,
    chat_slow_seconds: int | None = None,
) -> Stream:
    """Change the chat rules; viewers already in the room get their new rights from the fan-out task."""
    wanted = {
        "is_chat_enabled": is_chat_enabled,
        "is_chat_delayed": is_chat_delayed,
        "is_chat_followers_only": is_chat_followers_only,
        "chat_slow_seconds": chat_slow_seconds,
    }
    changed = [name for name, value in wanted.items() if value is not None and getattr(stream, name) != value]
    if not changed:
        return stream
    with transaction.atomic():
        for name in changed:
            setattr(stream, name, wanted[name])
        stream.save(update_fields=[*changed, "updated_at"])
        host_changed(user_id=stream.user_id)  # before the fan-out: both run once this commits
        # Delay changes no right (the pages hold messages); enabled and followers-only do.
        if set(changed) - {"is_chat_delayed", "chat_slow_seconds"}:
            chat_rights_changed(creator_id=stream.user_id)
    return stream


@transaction.atomic
def creator_status_set(*, user: User, status: str, reviewer: User | None) -> Stream | None:
    """The one way staff change a creator's status; returns the Stream when approved.

    Approval creates the creator's one Stream (or keeps it, for a re-approval). Any other status takes
    the right to stream away: the key dies at LiveKit, the stream goes offline, its viewers are cut off.
    """
    user.creator_status = status
    user.reviewed_at = timezone.now()
    user.reviewed_by = reviewer
    user.save(update_fields=["creator_status", "reviewed_at", "reviewed_by"])
    if status == CreatorStatus.APPROVED:
        stream, _ = Stream.objects.get_or_create(user=user, defaults={"title": f"{user.username}'s stream"})
        return stream
    stream_shutdown(user_id=user.pk)
    return None


def creator_approve(*, user: User, reviewer: User | None) -> Stream:
    return creator_status_set(user=user, status=CreatorStatus.APPROVED, reviewer=reviewer)


def creator_revoke(*, user: User, reviewer: User | None) -> None:
    """Reject an application or revoke an approved creator: both end with no right to stream."""
    creator_status_set(user=user, status=CreatorStatus.REJECTED, reviewer=reviewer)
