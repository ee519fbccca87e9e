"""Receiving LiveKit webhooks exactly once.

LiveKit may deliver one event twice, even twice at once. The event's id is inserted first, in the
transaction that then applies its effects: a second delivery fails on the unique id (on PostgreSQL it
waits for the first transaction to finish, then fails), so it is answered as already handled and changes
nothing. If applying the effects fails, the row goes with them and LiveKit's retry starts afresh.
"""

from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from streams import livekit as lk

from .handlers import HANDLERS
from .models import WebhookEvent


def webhook_event_receive(*, event: lk.WebhookEvent) -> bool:
    """Record and apply a verified event. Returns False for an event already handled."""
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                livekit_id=event.id,
                event=event.event,
                room=event.room_name or "",
                created_at=datetime.fromtimestamp(event.created_at, tz=UTC),
                payload=event.raw,
            )
            handler = HANDLERS.get(event.event)
            if handler is not None:
                handler(event)
    except IntegrityError:
        # Only a repeat of the id means "done"; any other constraint failing is a bug to surface.
        if WebhookEvent.objects.filter(livekit_id=event.id).exists():
            return False
        raise
    return True


def webhook_event_prune(*, days: int) -> int:
    """Delete events received more than ``days`` days ago. Returns how many went."""
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
