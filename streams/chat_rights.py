"""Keep connected participants' right to chat true while they watch.

A token fixes a participant's rights when they join. When the creator changes a chat setting, or a viewer
follows, unfollows or is blocked, the participants already in the room are brought in line through
LiveKit (UpdateParticipant, RemoveParticipant). A room can hold thousands of viewers, so the fan-out is a
Celery task started after the change commits: eager in development, on a worker in production. It lists
the room once, decides each right with the same policy as the token (``tokens.chat_permission``) and
updates only those that change. If LiveKit fails the change stands (new tokens are already right) and the
task retries with backoff; ``reconcile`` re-applies rights as well.
"""

import logging
from dataclasses import dataclass

from celery import shared_task
from django.db import transaction

from accounts.models import Block, Follow

from . import livekit, tokens
from .models import Stream

logger = logging.getLogger(__name__)

FAN_OUT_CONCURRENCY = 16
RETRY_BACKOFF_MAX_SECONDS = 300


@dataclass(frozen=True)
class FanOutResult:
    listed: int
    updated: int
    removed: int


def _viewer_id(identity: str) -> int | None:
    return int(identity) if identity.isdigit() else None


@dataclass(frozen=True)
class RightsPlan:
    changes: dict[str, bool]  # identity -> the right to chat it must get
    to_remove: list[str]  # blocked viewers still connected


def chat_rights_plan(*, stream: Stream, participants: list[livekit.Participant]) -> RightsPlan:
    """Decide, with the token's policy, which connected participants' rights are wrong. Reads only."""
    creator_id = stream.user_id
    participants = [p for p in participants if p.kind == "STANDARD"]
    viewer_ids = [v for p in participants if (v := _viewer_id(p.identity)) is not None and v != creator_id]
    followers = set(
        Follow.objects.filter(following_id=creator_id, follower_id__in=viewer_ids).values_list(
            "follower_id", flat=True
        )
    )
    blocked = set(
        Block.objects.filter(blocker_id=creator_id, blocked_id__in=viewer_ids).values_list(
            "blocked_id", flat=True
        )
    )
    changes: dict[str, bool] = {}
    to_remove: list[str] = []
    for participant in participants:
        viewer_id = _viewer_id(participant.identity)
        if viewer_id in blocked:
            to_remove.append(participant.identity)
            continue
        is_creator = participant.identity == tokens.host_identity(creator_id)
        is_guest = tokens.is_guest_identity(participant.identity)
        if not (is_creator or is_guest or viewer_id is not None):
            continue  # not an identity this site hands out: leave it as LiveKit has it
        may_chat, _ = tokens.chat_permission(
            chat_enabled=stream.is_chat_enabled,
            followers_only=stream.is_chat_followers_only,
            is_creator=is_creator,
            is_guest=is_guest,
            follows=viewer_id in followers,
            blocked=False,
        )
        if may_chat != participant.can_publish_data:
            changes[participant.identity] = may_chat
    return RightsPlan(changes=changes, to_remove=to_remove)


def chat_rights_enforce(*, stream: Stream, plan: RightsPlan) -> None:
    room = livekit.room_name_for(stream.user_id)
    livekit.participant_update_many(room=room, rights=plan.changes, concurrency=FAN_OUT_CONCURRENCY)
    for identity in plan.to_remove:
        livekit.participant_remove(room=room, identity=identity)


def chat_rights_apply(*, creator_id: int, identities: list[str] | None = None) -> FanOutResult:
    """Bring every connected participant's right to chat (or only ``identities``') in line with the rules."""
    stream = Stream.objects.get(user_id=creator_id)
    participants = livekit.participant_list(room=livekit.room_name_for(creator_id))
    if identities is not None:
        wanted = set(identities)
        participants = [p for p in participants if p.identity in wanted]
    plan = chat_rights_plan(stream=stream, participants=participants)
    chat_rights_enforce(stream=stream, plan=plan)
    listed = sum(1 for p in participants if p.kind == "STANDARD")
    return FanOutResult(listed=listed, updated=len(plan.changes), removed=len(plan.to_remove))


def _retry_later(task, error: livekit.LiveKitError) -> None:
    if error.kind != livekit.UNAVAILABLE:
        raise error
    if task.request.is_eager:
        # Run inside the request (no broker): retrying here would hold the user's page for minutes.
        logger.warning("LiveKit unavailable, rights left for reconcile: %s", error)
        return
    countdown = min(2 ** (task.request.retries + 1), RETRY_BACKOFF_MAX_SECONDS)
    raise task.retry(exc=error, countdown=countdown)


@shared_task(bind=True, max_retries=12, acks_late=True)
def chat_rights_fan_out(self, creator_id: int, identities: list[str] | None = None) -> dict:
    try:
        result = chat_rights_apply(creator_id=creator_id, identities=identities)
    except Stream.DoesNotExist:
        return {"skipped": "stream deleted"}
    except livekit.LiveKitError as error:
        _retry_later(self, error)
        return {"skipped": "LiveKit unavailable"}
    return result.__dict__


@shared_task(bind=True, max_retries=12, acks_late=True)
def participant_remove_task(self, creator_id: int, identity: str) -> None:
    try:
        livekit.participant_remove(room=livekit.room_name_for(creator_id), identity=identity)
    except livekit.LiveKitError as error:
        _retry_later(self, error)


def _enqueue(task, *args) -> None:
    try:
        task.delay(*args)
    except Exception:  # a broker outage must not fail the user's change; reconcile repairs rights
        logger.exception("Could not queue %s%r", task.name, args)


def chat_rights_changed(*, creator_id: int, identities: list[str] | None = None) -> None:
    """Call from a service that changed who may chat; the fan-out starts once the change is committed."""
    transaction.on_commit(lambda: _enqueue(chat_rights_fan_out, creator_id, identities))


def participant_blocked(*, creator_id: int, viewer_id: int) -> None:
    """Disconnect a viewer the creator just blocked (their token dies within its short TTL)."""
    transaction.on_commit(lambda: _enqueue(participant_remove_task, creator_id, str(viewer_id)))
