"""The door to LiveKit, through the real SDK over HTTP to the stand-in server (nothing patched)."""

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from streams import livekit as lk


def test_it_creates_an_rtmp_ingress_into_the_creators_room(livekit, settings):
    settings.LIVEKIT_ROOM_PREFIX = "site1-"
    ingress = lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")

    assert ingress.ingress_id.startswith("IN_") and len(ingress.ingress_id) == 15
    assert len(ingress.stream_key) == 12
    assert ingress.url.startswith("rtmp://")
    assert ingress.ingress_type == "RTMP"
    assert ingress.room_name == "site1-7"
    assert ingress.participant_identity == "7"
    assert ingress.status == "ENDPOINT_INACTIVE"

    stored = livekit.ingresses[ingress.ingress_id]
    assert stored.stream_key == ingress.stream_key
    assert stored.name == "alice" and stored.participant_name == "alice"
    assert stored.enable_transcoding is True


def test_it_creates_a_whip_ingress_without_transcoding(livekit):
    ingress = lk.ingress_create(user_id=7, username="alice", ingress_type="WHIP")

    assert ingress.ingress_type == "WHIP"
    assert ingress.url.startswith("http")
    assert livekit.ingresses[ingress.ingress_id].enable_transcoding is False


def test_the_stream_key_stays_out_of_reprs(livekit):
    ingress = lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
    assert ingress.stream_key not in repr(ingress)


def test_it_lists_ingresses_by_room_and_follows_pages(livekit):
    mine = lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
    for user_id in range(100, 145):
        lk.ingress_create(user_id=user_id, username=f"user{user_id}", ingress_type="WHIP")

    assert [i.ingress_id for i in lk.ingress_list(room=lk.room_name_for(7))] == [mine.ingress_id]
    everything = lk.ingress_list()
    assert len(everything) == 46
    assert len({i.ingress_id for i in everything}) == 46
    assert livekit.calls["ListIngress"] >= 3  # the stand-in pages by 20: the door must follow the token


def test_it_deletes_an_ingress_and_an_unknown_one_counts_as_done(livekit):
    ingress = lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")

    lk.ingress_delete(ingress_id=ingress.ingress_id)
    assert ingress.ingress_id not in livekit.ingresses
    lk.ingress_delete(ingress_id=ingress.ingress_id)
    lk.ingress_delete(ingress_id="IN_doesnotexist")
    assert livekit.calls["DeleteIngress"] == 3


def test_a_wrong_api_secret_is_rejected(livekit, settings):
    settings.LIVEKIT_API_SECRET = "another-secret-that-is-at-least-32-bytes-long"
    with pytest.raises(lk.LiveKitError) as caught:
        lk.room_list()
    assert caught.value.kind == lk.REJECTED
    assert settings.LIVEKIT_URL in str(caught.value)
    assert settings.LIVEKIT_API_SECRET not in str(caught.value)


def test_an_expired_token_is_rejected(livekit):
    livekit.clock_skew = 7 * 3600  # the stand-in runs 7 h ahead: the SDK's 6-hour token has expired
    with pytest.raises(lk.LiveKitError) as caught:
        lk.ingress_list()
    assert caught.value.kind == lk.REJECTED


def test_a_missing_grant_is_rejected(livekit):
    livekit.require_extra_grant = "roomRecord"
    with pytest.raises(lk.LiveKitError) as caught:
        lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
    assert caught.value.kind == lk.REJECTED
    assert livekit.ingresses == {}


def test_a_stopped_server_is_unavailable_at_once(livekit):
    livekit.stop()
    try:
        started = time.monotonic()
        with pytest.raises(lk.LiveKitError) as caught:
            lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
        assert caught.value.kind == lk.UNAVAILABLE
        assert time.monotonic() - started < 1.0
    finally:
        livekit.start()


def test_a_slow_server_is_unavailable_within_the_timeout(livekit, settings):
    settings.LIVEKIT_TIMEOUT = 0.5
    livekit.set_fault("ListRooms", "slow")
    started = time.monotonic()
    with pytest.raises(lk.LiveKitError) as caught:
        lk.room_list()
    elapsed = time.monotonic() - started
    assert caught.value.kind == lk.UNAVAILABLE
    assert "0.5 s" in str(caught.value)
    assert elapsed < 0.5 + 1.5


def test_a_server_error_is_unavailable(livekit):
    livekit.set_fault("CreateIngress", "error")
    with pytest.raises(lk.LiveKitError) as caught:
        lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
    assert caught.value.kind == lk.UNAVAILABLE
    # Only the chosen method fails.
    assert lk.room_list() == []


def test_participants_are_listed_updated_and_removed(livekit):
    room = lk.room_name_for(7)
    livekit.participant_join(room, "12", name="bob", can_publish_data=True)
    livekit.participant_join(room, "7", name="alice", kind="INGRESS")

    listed = {p.identity: p for p in lk.participant_list(room=room)}
    assert listed["12"].name == "bob" and listed["12"].kind == "STANDARD"
    assert listed["7"].kind == "INGRESS"
    assert listed["12"].joined_at_ms > 0
    assert [(r.name, r.num_participants) for r in lk.room_list()] == [(room, 2)]

    lk.participant_update(room=room, identity="12", can_publish_data=False)
    (bob,) = [p for p in livekit.participants(room) if p.identity == "12"]
    assert bob.permission.can_publish_data is False
    assert bob.permission.can_subscribe is True  # the whole set is replaced: subscribe must be sent
    assert bob.permission.can_publish is False

    lk.participant_update(room=room, identity="12", can_publish_data=True)
    (bob,) = [p for p in livekit.participants(room) if p.identity == "12"]
    assert bob.permission.can_publish_data is True and bob.permission.can_subscribe is True

    lk.participant_remove(room=room, identity="12")
    assert [p.identity for p in livekit.participants(room)] == ["7"]
    lk.participant_remove(room=room, identity="12")  # already gone: done


def test_updating_someone_not_in_the_room_is_not_found(livekit):
    livekit.room_create(lk.room_name_for(7))
    with pytest.raises(lk.LiveKitError) as caught:
        lk.participant_update(room=lk.room_name_for(7), identity="99", can_publish_data=True)
    assert caught.value.kind == lk.NOT_FOUND


def test_deleting_a_room_disconnects_everyone_and_an_unknown_room_is_done(livekit):
    room = lk.room_name_for(7)
    livekit.participant_join(room, "12", name="bob")
    lk.room_delete(room=room)
    assert room not in livekit.rooms
    lk.room_delete(room=room)


def test_it_verifies_a_delivery_signed_by_the_stand_in(livekit):
    ingress = lk.ingress_create(user_id=7, username="alice", ingress_type="RTMP")
    body, auth = livekit.build_webhook("ingress_started", ingress=livekit.ingresses[ingress.ingress_id])

    event = lk.webhook_verify(body=body, authorization=auth)

    assert event.event == "ingress_started"
    assert event.id.startswith("EV_")
    assert event.created_at > 0
    assert event.ingress.ingress_id == ingress.ingress_id
    assert event.room_name == lk.room_name_for(7)
    assert ingress.stream_key not in str(event.raw)


def test_it_refuses_a_changed_body_or_another_secret(livekit, settings):
    body, auth = livekit.build_webhook("room_started", room={"name": "7"})
    changed = body.replace(b'"room_started"', b'"room_startex"')
    with pytest.raises(lk.WebhookInvalid):
        lk.webhook_verify(body=changed, authorization=auth)

    settings.LIVEKIT_API_SECRET = "another-secret-that-is-at-least-32-bytes-long"
    with pytest.raises(lk.WebhookInvalid):
        lk.webhook_verify(body=body, authorization=auth)


def test_livekit_check_says_it_works(livekit, capsys):
    call_command("livekit_check")
    assert "LiveKit works" in capsys.readouterr().out


def test_livekit_check_names_the_url_when_the_server_is_down(livekit, settings):
    livekit.stop()
    try:
        with pytest.raises(CommandError) as caught:
            call_command("livekit_check")
    finally:
        livekit.start()
    message = str(caught.value)
    assert settings.LIVEKIT_URL in message
    assert "Check that the server is running" in message


def test_calls_share_one_kept_alive_connection(livekit):
    """The door keeps one pool per process: twenty calls open one connection, not twenty loops and sockets."""
    lk.room_list()
    pool = lk._http().connection_from_url(lk._http_base())
    opened = pool.num_connections

    for _ in range(20):
        lk.room_list()
        lk.participant_list(room=lk.room_name_for(7))

    assert pool.num_connections == opened
    assert livekit.calls["ListRooms"] == 21


def test_many_rooms_are_listed_in_one_batch(livekit):
    for n in range(30):
        livekit.participant_join(lk.room_name_for(n), f"{1000 + n}", name=f"viewer{n}")
    rooms = [lk.room_name_for(n) for n in range(35)]  # the last five have nobody (no room yet)

    listed = lk.participant_list_many(rooms=rooms)

    assert list(listed) == rooms
    assert [[p.identity for p in listed[lk.room_name_for(n)]] for n in range(30)] == [
        [f"{1000 + n}"] for n in range(30)
    ]
    assert all(listed[lk.room_name_for(n)] == [] for n in range(30, 35))
    assert livekit.calls["ListParticipants"] == 35


def test_a_batch_update_reports_who_left_and_applies_the_rest(livekit):
    room = lk.room_name_for(7)
    for n in range(20):
        livekit.participant_join(room, f"{100 + n}", can_publish_data=True)
    rights = {f"{100 + n}": False for n in range(20)} | {"gone-1": False, "gone-2": True}

    gone = lk.participant_update_many(room=room, rights=rights)

    assert sorted(gone) == ["gone-1", "gone-2"]
    assert all(not p.permission.can_publish_data for p in livekit.participants(room))


def test_a_signed_token_is_reused_for_half_its_life_only(livekit, monkeypatch):
    """Chat makes one SendData per message and signing a token cost as much CPU as the call: the door
    keeps a token per grant set for the first half of its ten minutes (only the door's clock is moved)."""
    import jwt
    from livekit import api

    room_7, room_8 = api.VideoGrants(room_admin=True, room="7"), api.VideoGrants(room_admin=True, room="8")
    first = lk._token(room_7)
    assert lk._token(room_7) is first
    assert jwt.decode(lk._token(room_8), options={"verify_signature": False})["video"]["room"] == "8"
    now = time.time()
    monkeypatch.setattr(lk, "_clock", lambda: now + lk.TOKEN_TTL.total_seconds() / 2 + 1)
    renewed = lk._token(room_7)
    assert renewed is not first
    claims = jwt.decode(renewed, options={"verify_signature": False})
    assert claims["video"]["room"] == "7" and claims["exp"] - time.time() > lk.TOKEN_TTL.total_seconds() - 5
    lk.room_send_data(room="7", data=b"{}", topic="t")  # still a token LiveKit takes
