"""Live state and viewer presence, driven by signed deliveries to the receiver and by the services."""

import time

import pytest

from streams import live
from streams.models import StreamSession, ViewerPresence
from webhooks.tests.deliveries import ingress_event, participant_event, post, room_event

T0 = int(time.time() * 1000) - 60_000


@pytest.fixture
def stream(creator):
    stream = creator.stream
    stream.ingress_id = "IN_alicealice1"
    stream.save()
    return stream


def _count(stream) -> int:
    stream.refresh_from_db()
    return stream.viewer_count


def _join(client, livekit, stream, identity, at_ms, **kwargs):
    assert (
        post(
            client,
            participant_event(livekit, "participant_joined", stream, identity, joined_at_ms=at_ms, **kwargs),
        ).status_code
        == 200
    )


def _leave(client, livekit, stream, identity, joined_at_ms, left_at_ms, name="participant_left", **kwargs):
    delivery = participant_event(
        livekit, name, stream, identity, joined_at_ms=joined_at_ms, created_at=left_at_ms // 1000, **kwargs
    )
    assert post(client, delivery).status_code == 200


def test_viewers_and_guests_are_counted_once_each(client, livekit, stream, viewer, outsider):
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=T0))
    _join(client, livekit, stream, str(viewer.pk), T0 + 1_000)
    _join(client, livekit, stream, str(outsider.pk), T0 + 2_000)
    _join(client, livekit, stream, "guest-1764040000000-ab12cd", T0 + 3_000)
    _join(client, livekit, stream, str(viewer.pk), T0 + 1_000)  # the same join delivered again (new id)

    assert _count(stream) == 3


def test_the_creators_own_identities_are_not_counted(client, livekit, stream, viewer):
    _join(client, livekit, stream, f"Host-{stream.user_id}", T0)  # the creator's self-view
    _join(client, livekit, stream, str(stream.user_id), T0, kind="INGRESS")  # OBS behind the ingress
    _join(client, livekit, stream, "EG_recorder", T0, kind="EGRESS")
    _join(client, livekit, stream, str(viewer.pk), T0 + 1_000)

    assert _count(stream) == 1
    assert list(ViewerPresence.objects.values_list("identity", flat=True)) == [str(viewer.pk)]


def test_leaves_and_aborted_connections_lower_the_count(client, livekit, stream, viewer, outsider):
    _join(client, livekit, stream, str(viewer.pk), T0)
    _join(client, livekit, stream, str(outsider.pk), T0 + 100)
    _leave(client, livekit, stream, str(viewer.pk), T0, T0 + 10_000)
    _leave(
        client,
        livekit,
        stream,
        str(outsider.pk),
        T0 + 100,
        T0 + 11_000,
        name="participant_connection_aborted",
    )

    assert _count(stream) == 0
    assert ViewerPresence.objects.filter(present=False).count() == 2  # kept as tombstones


def test_a_join_delivered_after_its_leave_does_not_bring_the_viewer_back(client, livekit, stream, viewer):
    _leave(client, livekit, stream, str(viewer.pk), T0, T0 + 5_000)
    _join(client, livekit, stream, str(viewer.pk), T0)

    assert _count(stream) == 0


def test_a_late_leave_of_an_old_connection_keeps_the_rejoined_viewer(client, livekit, stream, viewer):
    _join(client, livekit, stream, str(viewer.pk), T0)
    _join(client, livekit, stream, str(viewer.pk), T0 + 20_000)  # reconnected
    _leave(client, livekit, stream, str(viewer.pk), T0, T0 + 19_000)  # the first connection's leave, late

    assert _count(stream) == 1


def test_a_leave_and_a_rejoin_within_one_second_end_present(client, livekit, stream, viewer):
    second = T0 // 1000 * 1000
    _join(client, livekit, stream, str(viewer.pk), second + 100)
    _leave(client, livekit, stream, str(viewer.pk), second + 100, second + 400)
    _join(client, livekit, stream, str(viewer.pk), second + 700)

    assert _count(stream) == 1


def test_room_finished_resets_the_count(client, livekit, stream, viewer, outsider):
    _join(client, livekit, stream, str(viewer.pk), T0)
    _join(client, livekit, stream, str(outsider.pk), T0 + 100)

    post(client, room_event(livekit, "room_finished", stream, created_at=T0 // 1000 + 30))

    assert _count(stream) == 0
    _join(client, livekit, stream, str(viewer.pk), T0 + 10_000)  # an old join delivered late
    assert _count(stream) == 0


def test_going_offline_keeps_the_viewers_in_the_room_and_the_sessions_peak(
    client, livekit, stream, viewer, outsider
):
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=T0))
    _join(client, livekit, stream, str(viewer.pk), T0 + 1_000)
    _join(client, livekit, stream, str(outsider.pk), T0 + 2_000)
    _leave(client, livekit, stream, str(viewer.pk), T0 + 1_000, T0 + 3_000)
    assert _count(stream) == 1

    post(client, ingress_event(livekit, "ingress_ended", stream, at_ms=T0 + 9_000))

    assert _count(stream) == 1  # the encoder stopped; outsider is still connected to the room
    session = StreamSession.objects.get(stream=stream)
    assert session.peak_viewers == 2
    assert session.ended_at is not None


@pytest.mark.parametrize("order", ["in order", "start first", "end last"])
def test_an_encoder_restart_keeps_the_viewers(client, livekit, stream, viewer, outsider, order):
    post(client, ingress_event(livekit, "ingress_started", stream, at_ms=T0))
    _join(client, livekit, stream, str(viewer.pk), T0 + 1_000)
    _join(client, livekit, stream, str(outsider.pk), T0 + 2_000)
    ended = ingress_event(livekit, "ingress_ended", stream, at_ms=T0 + 5_000)
    started = ingress_event(livekit, "ingress_started", stream, at_ms=T0 + 6_000)

    for delivery in [started, ended] if order == "start first" else [ended, started]:
        post(client, delivery)

    stream.refresh_from_db()
    assert (stream.is_live, stream.viewer_count) == (True, 2)


@pytest.mark.parametrize("leave_first", [False, True])
def test_a_second_tab_keeps_the_viewer_when_the_old_tabs_leave_comes_a_second_later(
    client, livekit, stream, viewer, leave_first
):
    """The same identity connects again (a second tab); LiveKit drops the first connection and its leave
    arrives 1.2 s after the new join, in a later whole second of createdAt."""
    first, second = T0 // 1000 * 1000 + 100, T0 // 1000 * 1000 + 700
    _join(client, livekit, stream, str(viewer.pk), first)
    steps = [
        lambda: _leave(client, livekit, stream, str(viewer.pk), first, second + 1_200),
        lambda: _join(client, livekit, stream, str(viewer.pk), second),
    ]
    for step in steps if leave_first else reversed(steps):
        step()

    assert _count(stream) == 1


def test_one_join_delivery_runs_in_a_bounded_number_of_queries(
    client, livekit, stream, viewer, django_assert_max_num_queries
):
    """Insert the event, lock the stream, upsert one presence, recount, keep the peak: no query per viewer."""
    for n in range(20):
        live.viewer_join(stream=stream, identity=f"guest-{n}", at_ms=T0)
    delivery = participant_event(livekit, "participant_joined", stream, str(viewer.pk), joined_at_ms=T0 + 1)

    with django_assert_max_num_queries(20):  # 12, and the analytics app's record of the connection
        assert post(client, delivery).status_code == 200
    assert _count(stream) == 21


# --- Services -----------------------------------------------------------------------------------------


def test_go_live_opens_one_session_and_offline_closes_it(stream):
    assert live.stream_go_live(stream=stream, at_ms=T0)
    assert not live.stream_go_live(stream=stream, at_ms=T0 + 1)  # already live: no second session
    assert live.stream_go_offline(stream=stream, at_ms=T0 + 2)

    assert StreamSession.objects.filter(stream=stream).count() == 1
    assert StreamSession.objects.get().ended_at is not None


def test_presence_sync_makes_the_room_exactly_livekits_list(stream):
    live.viewer_join(stream=stream, identity="1", at_ms=T0)
    live.viewer_join(stream=stream, identity="2", at_ms=T0)
    live.viewer_leave(stream=stream, identity="3", at_ms=T0)

    count = live.presence_sync(stream=stream, joined_at_ms={"2": T0, "3": T0 + 5, "4": T0 + 9})

    assert count == 3
    assert set(ViewerPresence.objects.filter(present=True).values_list("identity", flat=True)) == {
        "2",
        "3",
        "4",
    }


def test_is_viewer_leaves_out_the_creator_and_machines(stream):
    assert live.is_viewer(stream=stream, identity="42")
    assert live.is_viewer(stream=stream, identity="guest-1-abc")
    assert not live.is_viewer(stream=stream, identity=f"Host-{stream.user_id}")
    assert not live.is_viewer(stream=stream, identity=str(stream.user_id), kind="INGRESS")


def test_a_room_reset_prunes_the_tombstones_it_supersedes(stream, django_assert_max_num_queries):
    """Without pruning every guest who ever watched kept a row, and reconcile loaded them all."""
    for n in range(300):
        live.viewer_join(stream=stream, identity=f"guest-1764000000000-{n:04x}", at_ms=T0 + n)
        live.viewer_leave(stream=stream, identity=f"guest-1764000000000-{n:04x}", at_ms=T0 + n)
    live.viewer_join(stream=stream, identity="42", at_ms=T0 + 10_000)
    assert ViewerPresence.objects.filter(stream=stream).count() == 301

    live.room_finished(stream=stream, at_ms=T0 + 5_000)

    rows = ViewerPresence.objects.filter(stream=stream)
    assert set(rows.values_list("identity", flat=True)) == {live.ROOM_RESET, "42"}  # 42 joined after
    assert _count(stream) == 1
    live.viewer_join(stream=stream, identity="guest-1764000000000-0001", at_ms=T0 + 1)  # late: ignored
    assert _count(stream) == 1

    with django_assert_max_num_queries(15):  # a constant: no row per past guest is loaded
        live.presence_sync(stream=stream, joined_at_ms={"7": T0 + 15_000}, at_ms=T0 + 20_000)
    assert set(rows.values_list("identity", flat=True)) == {live.ROOM_RESET, "7"}
    assert _count(stream) == 1
    live.viewer_leave(stream=stream, identity="7", at_ms=T0 + 15_000)  # the listed connection leaves
    assert _count(stream) == 0
