"""Receiving LiveKit webhooks exactly once.

LiveKit may deliver one event twice, even twice at once. The event's id is inserted first, in the
transaction that then applies its effects: a second delivery fails on the unique id (on PostgreSQL it
waits for the first transaction to finish, then fails), so it is answered as already handled and changes
nothing. If applying the effects fails, the row goes with them and LiveKit's retry starts afresh.

A signed delivery with a field we cannot use (an over-long id or name, a clock years away) is recorded
with its problem and applied to nothing: a retry could never succeed, so it is answered as done.
"""

import hashlib
import logging
import time
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from analytics.services import analytics_event_apply
from streams import livekit as lk
from streams.models import ViewerPresence

from .handlers import HANDLERS
from .models import WebhookEvent

logger = logging.getLogger(__name__)

# A LiveKit clock more than a day ahead of ours is nonsense; applied, it would outrank every real event.
MAX_CLOCK_SKEW_S = 24 * 3600


def _field_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def webhook_event_problem(*, event: lk.WebhookEvent) -> str:
    """Why a verified event cannot be applied, or "" when it can."""
    for label, value, limit in (
        ("id", event.id, _field_length(WebhookEvent, "livekit_id")),
        ("event", event.event, _field_length(WebhookEvent, "event")),
        ("room", event.room_name or "", _field_length(WebhookEvent, "room")),
        (
            "identity",
            event.participant.identity if event.participant else "",
            _field_length(ViewerPresence, "identity"),
        ),
    ):
        if len(value) > limit:
            return f"The {label} is longer than {limit} characters."
    latest_ms = (time.time() + MAX_CLOCK_SKEW_S) * 1000
    for label, value_ms in (
        ("createdAt", event.created_at * 1000),
        ("ingress clock", event.ingress_updated_at_ms or 0),
        ("joinedAtMs", event.participant.joined_at_ms if event.participant else 0),
    ):
        if not 0 <= value_ms <= latest_ms:
            return f"The {label} ({value_ms} ms) is not a time we can use."
    return ""


def _recorded_id(livekit_id: str) -> str:
    # An id too long for the column is stored by its hash, so a repeat still finds the row.
    limit = _field_length(WebhookEvent, "livekit_id")
    if len(livekit_id) <= limit:
        return livekit_id
    return "sha256:" + hashlib.sha256(livekit_id.encode()).hexdigest()[: limit - len("sha256:")]


def _created_at(event: lk.WebhookEvent) -> datetime:
    try:
        return datetime.fromtimestamp(event.created_at, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return timezone.now()  # the problem says why; the row keeps when it arrived


APPLIED, REPEAT, UNUSABLE = "applied", "repeat", "unusable"


def webhook_event_receive(*, event: lk.WebhookEvent) -> str:
    """Record and apply a verified event: APPLIED, REPEAT (already handled, nothing changed) or UNUSABLE.

    An event with a problem (``webhook_event_problem``) is recorded with it and changes nothing else.
    """
    problem = webhook_event_problem(event=event)
    livekit_id = _recorded_id(event.id)
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                livekit_id=livekit_id,
                event=event.event[: _field_length(WebhookEvent, "event")],
                room="" if problem else event.room_name or "",
                created_at=_created_at(event),
                payload=event.raw,
                problem=problem[: _field_length(WebhookEvent, "problem")],
            )
            handler = None if problem else HANDLERS.get(event.event)
            if handler is not None:
                handler(event)
                analytics_event_apply(event=event)  # the viewer series, from the facts just recorded
    except IntegrityError:
        # Only a repeat of the id means "done"; any other constraint failing is a bug to surface.
        if WebhookEvent.objects.filter(livekit_id=livekit_id).exists():
            return REPEAT
        raise
    if problem:
        logger.warning(
            "Recorded webhook %r (%s) without applying it: %s", event.id[:80], event.event[:80], problem
        )
        return UNUSABLE
    return APPLIED


def webhook_event_prune(*, days: int) -> int:
    """Delete events received more than ``days`` days ago. Returns how many went."""
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
