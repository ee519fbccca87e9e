"""Reads of chat: a message as the API and the room get it (one shape for both)."""

from django.utils import timezone

from .models import ChatMessage, ModerationAction, Moderator


def message_data(message: ChatMessage, *, pending: bool = False) -> dict:
    """The message as JSON: what the API answers and what ``SendData`` carries to the room. ``pending``:
    held by the delay, shown so far to the creator and moderators only."""
    data = {
        "id": message.pk,
        "author": message.identity,
        "name": message.name,
        "role": message.role,
        "text": message.text,
        "time": message.created_at.isoformat().replace("+00:00", "Z"),
    }
    if pending:
        data["pending"] = True
    return data


HISTORY_SIZE = 50


def message_history(
    *, host_id: int, before: int | None = None, with_held: bool = False
) -> tuple[list[ChatMessage], bool]:
    """The last HISTORY_SIZE messages of the creator's open session (older than ``before``), oldest
    first, and whether older ones remain. Offline there is no current session: no history. Messages the
    delay still holds only ``with_held`` (the creator and moderators). One query."""
    messages = ChatMessage.objects.filter(
        session__stream__user_id=host_id, session__ended_at__isnull=True, deleted_at__isnull=True
    )
    if not with_held:
        messages = messages.filter(visible_at__lte=timezone.now())
    if before is not None:
        messages = messages.filter(id__lt=before)
    newest = list(messages.order_by("-id")[: HISTORY_SIZE + 1])
    return newest[:HISTORY_SIZE][::-1], len(newest) > HISTORY_SIZE


def is_moderator(*, host_id: int, user) -> bool:
    return Moderator.objects.filter(creator_id=host_id, user=user).exists()


def moderator_list(*, creator_id: int):
    return Moderator.objects.filter(creator_id=creator_id).select_related("user").order_by("user__username")


def moderation_log(*, creator_id: int, limit: int = 100):
    return ModerationAction.objects.filter(creator_id=creator_id)[:limit]
