"""Keep connected participants' right to chat true while they watch.

A token fixes a participant's rights when they join. When the creator changes a chat setting, or a viewer
follows, unfollows or is blocked, the participants already in the room are brought in line through
LiveKit (UpdateParticipant, RemoveParticipant). A room can hold thousands of viewers, so the fan-out is a
Celery task queued once the change commits (``tasks.schedule``). It lists the room once, asks
``selectors.chat_access_by_identity`` (the same answer a token gets) and updates only the rights that
change; the blocked are removed. If LiveKit is unavailable the change stands (new tokens are already
right) and Celery retries the task with backoff; ``reconcile`` re-applies rights as well.
"""

import logging
from dataclasses import dataclass

from celery import shared_task

from accounts.models import CreatorStatus

from . import livekit, tokens
from .identities import user_identity
from .models import Stream
from .selectors import chat_access_by_identity, host_of
from .tasks import LIVEKIT_RETRY, livekit_step, schedule

logger = logging.getLogger(__name__)

FAN_OUT_CONCURRENCY = 16


@dataclass(frozen=True)
class FanOutResult:
    listed: int
    updated: int
    removed: int


@dataclass(frozen=True)
class RightsPlan:
    changes: dict[str, bool]  # identity -> the right to chat it must get
    to_remove: list[str]  # blocked people still connected


def chat_rights_plan(*, stream: Stream, participants: list[livekit.Participant]) -> RightsPlan:
    """Decide, with the token's policy, which connected participants' rights are wrong. Reads only."""
    people = [p for p in participants if p.kind == "STANDARD"]  # not the encoder, recorders or agents
    access = chat_access_by_identity(
        host=host_of(stream), participant_identities=[p.identity for p in people]
    )
    changes: dict[str, bool] = {}
    to_remove: list[str] = []
    for participant in people:
        answer = access.get(participant.identity)
        if answer is None:
            continue  # not an identity this site hands out: leave it as LiveKit has it
        if answer.reason == tokens.CHAT_BLOCKED:
            to_remove.append(participant.identity)
        elif answer.can_chat != participant.can_publish_data:
            changes[participant.identity] = answer.can_chat
    return RightsPlan(changes=changes, to_remove=to_remove)


def chat_rights_enforce(*, stream: Stream, plan: RightsPlan) -> None:
    room = livekit.room_name_for(stream.user_id)
    livekit.participant_update_many(room=room, rights=plan.changes, concurrency=FAN_OUT_CONCURRENCY)
    for identity in plan.to_remove:
        livekit.participant_remove(room=room, identity=identity)


def chat_rights_apply(*, creator_id: int, identities: list[str] | None = None) -> FanOutResult:
    """Bring every connected participant's right to chat (or only ``identities``') in line with the rules."""
    stream = Stream.objects.select_related("user").get(user_id=creator_id)
    participants = livekit.participant_list(room=livekit.room_name_for(creator_id))
    if identities is not None:
        wanted = set(identities)
        participants = [p for p in participants if p.identity in wanted]
    plan = chat_rights_plan(stream=stream, participants=participants)
    chat_rights_enforce(stream=stream, plan=plan)
    listed = sum(1 for p in participants if p.kind == "STANDARD")
    return FanOutResult(listed=listed, updated=len(plan.changes), removed=len(plan.to_remove))


@shared_task(**LIVEKIT_RETRY, max_retries=12)  # about 45 minutes of backoff; then reconcile sets them
def chat_rights_fan_out(self, *, creator_id: int, identities: list[str] | None = None) -> dict:
    applied: list[FanOutResult] = []

    def apply() -> None:
        applied.append(chat_rights_apply(creator_id=creator_id, identities=identities))

    try:
        failed = livekit_step(self, apply, f"set chat rights in the room of {creator_id}")
    except Stream.DoesNotExist:
        return {"skipped": "stream deleted"}
    return {"skipped": failed} if failed else applied[0].__dict__


def chat_rights_changed(*, creator_id: int, identities: list[str] | None = None) -> None:
    """Call from a service that changed who may chat; the fan-out is queued once the change commits."""
    schedule(chat_rights_fan_out, creator_id=creator_id, identities=identities)


def relation_changed_receiver(sender, *, user_id: int, other_id: int, **kwargs) -> None:
    """A follow or block between two users committed (``accounts.signals.relation_changed``).

    If either of them streams, the other's right in that room may have changed (a block either way
    removes them). Connected in ``StreamsConfig.ready``: accounts never imports streams.
    """
    creators = Stream.objects.filter(
        user_id__in=(user_id, other_id), user__creator_status=CreatorStatus.APPROVED, user__is_active=True
    ).values_list("user_id", flat=True)
    for creator_id in creators:
        viewer_id = other_id if creator_id == user_id else user_id
        chat_rights_changed(creator_id=creator_id, identities=[user_identity(viewer_id)])
