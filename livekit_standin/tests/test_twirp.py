"""The stand-in's Twirp API answers as LiveKit's does, for any SDK: exact error content type, the
RoomService methods the SDK offers, and request fields honoured as LiveKit honours them."""

import json
import urllib.error
import urllib.request

import pytest
from livekit import api
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room

from .test_standin import call


def raw_post(livekit, method, body: bytes, token: str):
    request = urllib.request.Request(
        f"{livekit.url}/twirp/livekit.RoomService/{method}",
        data=body,
        headers={"Content-Type": "application/protobuf", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def admin_token(livekit, room="7"):
    grant = api.VideoGrants(room_admin=True, room=room, room_create=True)
    return api.AccessToken(livekit.api_key, livekit.api_secret).with_grants(grant).to_jwt()


def test_twirp_errors_are_exactly_application_json_with_code_and_msg(livekit):
    body = proto_room.RoomParticipantIdentity(room="7", identity="nobody").SerializeToString()
    status, content_type, raw = raw_post(livekit, "GetParticipant", body, admin_token(livekit))
    # Go's twirp client reads the code only when the header is exactly this (no charset).
    assert (status, content_type) == (404, "application/json")
    assert json.loads(raw) == {"code": "not_found", "msg": "requested room does not exist"}
    status, content_type, raw = raw_post(livekit, "NoSuchMethod", b"", admin_token(livekit))
    assert (status, content_type, json.loads(raw)["code"]) == (404, "application/json", "bad_route")


def test_listing_the_participants_of_an_unknown_room_is_empty(livekit):
    reply = call(livekit, lambda c: c.room.list_participants(proto_room.ListParticipantsRequest(room="7")))
    assert list(reply.participants) == []


def test_create_room_honours_empty_timeout_and_metadata(livekit):
    room = call(
        livekit,
        lambda c: c.room.create_room(
            proto_room.CreateRoomRequest(name="7", empty_timeout=42, max_participants=3, metadata="m")
        ),
    )
    assert (room.empty_timeout, room.max_participants, room.metadata) == (42, 3, "m")
    assert livekit.rooms["7"].empty_timeout == 42
    default = call(livekit, lambda c: c.room.create_room(proto_room.CreateRoomRequest(name="8")))
    assert default.empty_timeout == 300


def test_update_room_metadata_works_and_an_unknown_room_is_not_found(livekit):
    livekit.room_create("7")
    room = call(
        livekit,
        lambda c: c.room.update_room_metadata(proto_room.UpdateRoomMetadataRequest(room="7", metadata="hi")),
    )
    assert room.metadata == "hi" and livekit.rooms["7"].metadata == "hi"
    with pytest.raises(api.TwirpError) as caught:
        call(
            livekit,
            lambda c: c.room.update_room_metadata(
                proto_room.UpdateRoomMetadataRequest(room="8", metadata="x")
            ),
        )
    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_mute_published_track_answers_as_livekit(livekit):
    livekit.participant_join("7", "12")
    request = proto_room.MuteRoomTrackRequest(room="7", identity="12", track_sid="TR_nothere", muted=True)
    with pytest.raises(api.TwirpError) as caught:
        call(livekit, lambda c: c.room.mute_published_track(request))
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        404,
        "not_found",
        "track is not found",
    )
    request = proto_room.MuteRoomTrackRequest(room="7", identity="nobody", track_sid="TR_x", muted=True)
    with pytest.raises(api.TwirpError) as caught:
        call(livekit, lambda c: c.room.mute_published_track(request))
    assert caught.value.message == "participant does not exist"


def test_ingress_transcoding_follows_livekits_rules(livekit):
    def create(**fields):
        return call(livekit, lambda c: c.ingress.create_ingress(proto_ingress.CreateIngressRequest(**fields)))

    whip = create(input_type=proto_ingress.IngressInput.WHIP_INPUT, room_name="7")
    assert (whip.enable_transcoding, whip.bypass_transcoding) == (False, True)
    rtmp = create(input_type=proto_ingress.IngressInput.RTMP_INPUT, room_name="7")
    assert (rtmp.enable_transcoding, rtmp.bypass_transcoding) == (True, False)
    # The request's bypass_transcoding is deprecated and ignored; enable_transcoding decides.
    ignored = create(input_type=proto_ingress.IngressInput.RTMP_INPUT, room_name="7", bypass_transcoding=True)
    assert (ignored.enable_transcoding, ignored.bypass_transcoding) == (True, False)
    chosen = create(input_type=proto_ingress.IngressInput.WHIP_INPUT, room_name="7", enable_transcoding=True)
    assert (chosen.enable_transcoding, chosen.bypass_transcoding) == (True, False)
    assert whip.reusable and rtmp.reusable


def test_the_other_room_service_methods_answer_as_livekit(livekit):
    livekit.participant_join("7", "12")
    reply = call(
        livekit,
        lambda c: c.room.update_subscriptions(
            proto_room.UpdateSubscriptionsRequest(room="7", identity="12", subscribe=True)
        ),
    )
    assert isinstance(reply, proto_room.UpdateSubscriptionsResponse)
    move = proto_room.MoveParticipantRequest(room="7", identity="12", destination_room="7")
    with pytest.raises(api.TwirpError) as caught:
        call(livekit, lambda c: c.room.move_participant(move))
    assert (caught.value.status, caught.value.code) == (400, "invalid_argument")
    # The SDK always sends a 16-byte nonce; another client may not.
    body = proto_room.SendDataRequest(room="7", data=b"x", nonce=b"short").SerializeToString()
    status, _, raw = raw_post(livekit, "SendData", body, admin_token(livekit))
    assert (status, json.loads(raw)["code"]) == (400, "invalid_argument")


def test_update_participant_replaces_the_permission_and_bumps_the_version(livekit):
    before = livekit.participant_join("7", "12")
    updated = call(
        livekit,
        lambda c: c.room.update_participant(
            proto_room.UpdateParticipantRequest(
                room="7", identity="12", permission=proto_models.ParticipantPermission(can_subscribe=True)
            )
        ),
    )
    assert updated.permission.can_subscribe and not updated.permission.can_publish_data
    assert updated.version == before.version + 1
