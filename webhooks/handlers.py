"""What each LiveKit event does, as a dict of event name → handler.

Handlers run inside the transaction that records the event, call the services of the app that owns the
data, and never call LiveKit. An event about an ingress or room we do not know changes nothing: it is
recorded all the same, and ``reconcile`` repairs whatever a lost delivery left behind.
"""

from collections.abc import Callable

from streams import live
from streams import livekit as lk
from streams.models import Stream


def _stream_for_room(room_name: str | None) -> Stream | None:
    user_id = lk.user_id_from_room(room_name) if room_name else None
    if user_id is None:
        return None
    return Stream.objects.filter(user_id=user_id).first()


def _ingress_clock_ms(event: lk.WebhookEvent) -> int:
    # createdAt has whole seconds, so a stop and a start in one second would tie; the ingress clock won't.
    return event.ingress_updated_at_ms or event.created_at * 1000


def _participant_clock_ms(event: lk.WebhookEvent) -> int:
    # A join and a leave are ordered by the connection they are about (its joinedAtMs, which both carry):
    # LiveKit keeps one connection per identity, so the late leave of an older connection (a second tab
    # took over) must lose to the newer join. createdAt has whole seconds and would let it win.
    participant = event.participant
    if participant is None or not participant.joined_at_ms:
        return event.created_at * 1000
    return participant.joined_at_ms


def ingress_started(event: lk.WebhookEvent) -> None:
    if event.ingress is None:
        return
    stream = Stream.objects.select_related("user").filter(ingress_id=event.ingress.ingress_id).first()
    # An ingress no stream owns (replaced by a key reset) or a revoked creator's: nothing goes live.
    if stream is None or not stream.user.is_approved_creator:
        return
    live.stream_go_live(stream=stream, at_ms=_ingress_clock_ms(event))


def ingress_ended(event: lk.WebhookEvent) -> None:
    if event.ingress is None:
        return
    stream = Stream.objects.filter(ingress_id=event.ingress.ingress_id).first()
    if stream is None:
        return
    live.stream_go_offline(stream=stream, at_ms=_ingress_clock_ms(event))


def participant_joined(event: lk.WebhookEvent) -> None:
    stream = _stream_for_room(event.room_name)
    if stream is None or event.participant is None:
        return
    live.viewer_join(
        stream=stream,
        identity=event.participant.identity,
        kind=event.participant.kind,
        at_ms=_participant_clock_ms(event),
    )


def participant_left(event: lk.WebhookEvent) -> None:
    stream = _stream_for_room(event.room_name)
    if stream is None or event.participant is None:
        return
    live.viewer_leave(
        stream=stream,
        identity=event.participant.identity,
        kind=event.participant.kind,
        at_ms=_participant_clock_ms(event),
    )


def room_finished(event: lk.WebhookEvent) -> None:
    stream = _stream_for_room(event.room_name)
    if stream is None:
        return
    live.room_finished(stream=stream, at_ms=event.created_at * 1000)


HANDLERS: dict[str, Callable[[lk.WebhookEvent], None]] = {
    "ingress_started": ingress_started,
    "ingress_ended": ingress_ended,
    "participant_joined": participant_joined,
    "participant_left": participant_left,
    "participant_connection_aborted": participant_left,
    "room_finished": room_finished,
}
