"""The stand-in's real-time side, driven by an independent client: LiveKit's Python real-time SDK
(``livekit`` on PyPI, libwebrtc underneath), so the stand-in cannot agree only with itself.

These tests make WebRTC connections: they run in the loopback-only network namespace
(``scripts/test-webrtc.sh``; marker ``webrtc``).
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from livekit import api, rtc
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import models as proto_models
from livekit.protocol import room as proto_room

pytestmark = pytest.mark.webrtc

ROOM = "7"
OPTIONS = dict(single_peer_connection=True, connect_timeout=10)


@pytest.fixture(autouse=True, params=["/rtc/v1", "/rtc"])
def signalling(request, livekit):
    """Every test on both paths: /rtc/v1 (one peer connection) and /rtc (the SDK's default, two)."""
    OPTIONS["single_peer_connection"] = request.param == "/rtc/v1"
    yield
    OPTIONS["single_peer_connection"] = True
    assert set(livekit.signal_paths) == {request.param}


def run(coroutine_function):
    # A thread of its own: the SDK wants an event loop, and the stand-in runs on another.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result(timeout=60)


def token(livekit, identity, *, name="", room=ROOM, **grants):
    grant = api.VideoGrants(room_join=True, room=room, can_subscribe=True, **grants)
    return (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_identity(identity)
        .with_name(name or identity.title())
        .with_grants(grant)
        .to_jwt()
    )


async def join(livekit, identity, **grants) -> rtc.Room:
    room = rtc.Room()
    await room.connect(livekit.ws_url, token(livekit, identity, **grants), rtc.RoomOptions(**OPTIONS))
    return room


def admin(livekit):
    return api.LiveKitAPI(livekit.url, livekit.api_key, livekit.api_secret)


async def until(predicate, timeout=10.0):
    for _ in range(int(timeout * 20)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def events(room: rtc.Room, *names: str) -> asyncio.Queue:
    queue: asyncio.Queue = asyncio.Queue()
    for name in names:
        room.on(name, lambda *args, name=name: queue.put_nowait((name, *args)))
    return queue


def test_clients_join_see_each_other_and_leave(livekit):
    async def scenario():
        alice = await join(livekit, "alice")
        bob_events = None
        alice_events = events(alice, "participant_connected", "participant_disconnected")
        bob = await join(livekit, "bob")
        bob_events = events(bob, "participant_disconnected")
        name, joined = await asyncio.wait_for(alice_events.get(), 10)
        assert (name, joined.identity, joined.name) == ("participant_connected", "bob", "Bob")
        assert {p.identity: p.name for p in bob.remote_participants.values()} == {"alice": "Alice"}
        assert bob.name == ROOM and bob.local_participant.identity == "bob"
        await until(
            lambda: {p.state for p in livekit.participants(ROOM)} == {proto_models.ParticipantInfo.ACTIVE}
        )

        await bob.disconnect()
        name, left = await asyncio.wait_for(alice_events.get(), 10)
        assert (name, left.identity) == ("participant_disconnected", "bob")
        await until(lambda: [p.identity for p in livekit.participants(ROOM)] == ["alice"])
        await alice.disconnect()
        await until(lambda: livekit.participants(ROOM) == [])
        assert bob_events.empty()

    run(scenario)
    livekit.flush()
    # The webhooks come from the real joins and leaves: joined once active, left with the reason.
    sent = [(e.event, e.participant.identity) for e in _events(livekit) if e.participant.identity]
    assert sent == [
        ("participant_joined", "alice"),
        ("participant_joined", "bob"),
        ("participant_left", "bob"),
        ("participant_left", "alice"),
    ]


def _events(livekit):
    from google.protobuf import json_format
    from livekit.protocol import webhook as proto_webhook

    return [
        json_format.Parse(body, proto_webhook.WebhookEvent(), ignore_unknown_fields=True)
        for body, _ in livekit.webhooks
    ]


def test_data_and_text_streams_go_both_ways_with_the_senders_identity(livekit):
    async def scenario():
        alice, bob = await join(livekit, "alice"), await join(livekit, "bob")
        got: asyncio.Queue = asyncio.Queue()
        for room in (alice, bob):
            room.on(
                "data_received",
                lambda packet, me=room: got.put_nowait(
                    (
                        me.local_participant.identity,
                        packet.data,
                        packet.participant and packet.participant.identity,
                        packet.topic,
                    )
                ),
            )

            async def read(reader, identity, me=room):
                got.put_nowait((me.local_participant.identity, await reader.read_all(), identity, "lk.chat"))

            room.register_text_stream_handler(
                "lk.chat", lambda reader, identity, read=read: asyncio.ensure_future(read(reader, identity))
            )

        await alice.local_participant.publish_data(b"hello bob", reliable=True, topic="t")
        assert await asyncio.wait_for(got.get(), 10) == ("bob", b"hello bob", "alice", "t")
        await bob.local_participant.publish_data(b"hello alice", reliable=False, topic="t")
        assert await asyncio.wait_for(got.get(), 10) == ("alice", b"hello alice", "bob", "t")
        await bob.local_participant.send_text("hi from bob", topic="lk.chat")
        assert await asyncio.wait_for(got.get(), 10) == ("alice", "hi from bob", "bob", "lk.chat")
        await alice.local_participant.send_text("x" * 40_000, topic="lk.chat")  # chunked
        assert await asyncio.wait_for(got.get(), 10) == ("bob", "x" * 40_000, "alice", "lk.chat")

        # SendData from the server API reaches everyone, from no participant.
        async with admin(livekit) as client:
            await client.room.send_data(
                proto_room.SendDataRequest(room=ROOM, data=b"from the server", topic="s")
            )
        received = {await asyncio.wait_for(got.get(), 10) for _ in range(2)}
        assert received == {("alice", b"from the server", None, "s"), ("bob", b"from the server", None, "s")}
        await alice.disconnect()
        await bob.disconnect()

    run(scenario)
    assert all(p.participant_identity in ("alice", "bob") for p in livekit.relayed_data if p.participant_sid)


def test_without_can_publish_data_nothing_is_relayed_and_a_revocation_reaches_the_client(livekit):
    async def scenario():
        alice = await join(livekit, "alice")
        mute = await join(livekit, "mute", can_publish_data=False)
        got: asyncio.Queue = asyncio.Queue()
        alice.on("data_received", lambda packet: got.put_nowait((packet.data, packet.participant.identity)))
        changes = events(alice, "participant_permissions_changed")

        await mute.local_participant.publish_data(b"let me speak", reliable=True)
        await until(lambda: livekit.refused_data)
        assert [(who, p.user.payload) for who, p in livekit.refused_data] == [("mute", b"let me speak")]

        # The server takes the right away from a connected participant: it learns it at once.
        async with admin(livekit) as client:
            await client.room.update_participant(
                proto_room.UpdateParticipantRequest(
                    room=ROOM,
                    identity="alice",
                    permission=proto_models.ParticipantPermission(can_subscribe=True),
                )
            )
        _, participant, permission = await asyncio.wait_for(changes.get(), 10)
        assert participant.identity == "alice" and permission.can_publish_data is False
        await until(lambda: alice.local_participant.permissions.can_publish_data is False)
        await alice.local_participant.publish_data(b"now refused", reliable=True)
        await until(lambda: len(livekit.refused_data) == 2)
        assert got.empty()
        await alice.disconnect()
        await mute.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("remove", rtc.DisconnectReason.PARTICIPANT_REMOVED),
        ("delete_room", rtc.DisconnectReason.ROOM_DELETED),
    ],
)
def test_the_server_disconnects_clients_with_livekits_reason(livekit, action, reason):
    async def scenario():
        alice, bob = await join(livekit, "alice"), await join(livekit, "bob")
        bob_gone = events(bob, "disconnected")
        alice_events = events(alice, "participant_disconnected", "disconnected")
        async with admin(livekit) as client:
            if action == "remove":
                await client.room.remove_participant(
                    proto_room.RoomParticipantIdentity(room=ROOM, identity="bob")
                )
            else:
                await client.room.delete_room(proto_room.DeleteRoomRequest(room=ROOM))
        assert await asyncio.wait_for(bob_gone.get(), 10) == ("disconnected", reason)
        name, who = await asyncio.wait_for(alice_events.get(), 10)
        if action == "remove":
            assert (name, who.identity) == ("participant_disconnected", "bob")
            assert [p.identity for p in livekit.participants(ROOM)] == ["alice"]
            await alice.disconnect()
        else:
            assert (name, who) == ("disconnected", reason)
            assert ROOM not in livekit.rooms

    run(scenario)


def test_a_second_connection_with_the_same_identity_evicts_the_first(livekit):
    async def scenario():
        watcher = await join(livekit, "watcher")
        first = await join(livekit, "bob")
        first_gone = events(first, "disconnected")
        second = await join(livekit, "bob")
        assert await asyncio.wait_for(first_gone.get(), 10) == (
            "disconnected",
            rtc.DisconnectReason.DUPLICATE_IDENTITY,
        )
        new_sid = second.local_participant.sid
        # The others end with the new session only (LiveKit sends no DISCONNECTED for the old one; the
        # Python SDK, which keys participants by sid, reports the swap as a leave and a join).
        await until(
            lambda: [(p.identity, p.sid) for p in watcher.remote_participants.values()] == [("bob", new_sid)]
        )
        assert [p.sid for p in livekit.participants(ROOM) if p.identity == "bob"] == [new_sid]
        await second.disconnect()
        await watcher.disconnect()

    run(scenario)


def test_a_refused_token_cannot_join(livekit):
    async def scenario():
        room = rtc.Room()
        bad = token(livekit, "bob").replace(livekit.api_secret, "")  # still a JWT: signature checked below
        wrong_secret = (
            api.AccessToken(livekit.api_key, "another-secret-that-is-long-enough-for-hs256")
            .with_identity("bob")
            .with_grants(api.VideoGrants(room_join=True, room=ROOM))
            .to_jwt()
        )
        for refused in (bad[:-4] + "AAAA", wrong_secret):
            with pytest.raises(rtc.ConnectError):
                await room.connect(livekit.ws_url, refused, rtc.RoomOptions(**OPTIONS))
        assert livekit.participants(ROOM) == []

    run(scenario)


def start_encoder(livekit) -> str:
    async def create():
        async with admin(livekit) as client:
            request = proto_ingress.CreateIngressRequest(
                input_type=proto_ingress.IngressInput.RTMP_INPUT,
                room_name=ROOM,
                participant_identity="host",
                participant_name="alice",
            )
            return (await client.ingress.create_ingress(request)).ingress_id

    ingress_id = run(create)
    livekit.encoder_start(ingress_id)
    return ingress_id


@pytest.mark.parametrize("encoder_first", [True, False], ids=["encoder-first", "viewer-first"])
def test_the_simulated_encoder_publishes_video_and_audio_that_viewers_receive(livekit, encoder_first):
    ingress_id = start_encoder(livekit) if encoder_first else None

    async def scenario():
        nonlocal ingress_id
        viewer = rtc.Room()
        subscribed: asyncio.Queue = asyncio.Queue()
        viewer.on(
            "track_subscribed", lambda track, pub, participant: subscribed.put_nowait((track, participant))
        )
        gone = events(viewer, "participant_disconnected")
        await viewer.connect(livekit.ws_url, token(livekit, "viewer"), rtc.RoomOptions(**OPTIONS))
        if ingress_id is None:
            ingress_id = await asyncio.get_running_loop().run_in_executor(None, start_encoder, livekit)
        tracks = {}
        for _ in range(2):
            track, participant = await asyncio.wait_for(subscribed.get(), 15)
            assert (participant.identity, participant.kind) == (
                "host",
                rtc.ParticipantKind.PARTICIPANT_KIND_INGRESS,
            )
            tracks[track.kind] = track
        assert set(tracks) == {rtc.TrackKind.KIND_VIDEO, rtc.TrackKind.KIND_AUDIO}
        frames = []
        async for event in rtc.VideoStream(tracks[rtc.TrackKind.KIND_VIDEO]):
            frames.append(event.frame)
            if len(frames) == 5:
                break
        assert (frames[-1].width, frames[-1].height) == (640, 360)
        assert frames[0].data.tobytes() != frames[-1].data.tobytes(), "the picture moves"

        await asyncio.get_running_loop().run_in_executor(None, livekit.encoder_stop, ingress_id)
        name, who = await asyncio.wait_for(gone.get(), 10)
        assert (name, who.identity) == ("participant_disconnected", "host")
        await viewer.disconnect()

    run(scenario)
    livekit.flush()
    sent = [e.event for e in _events(livekit) if e.track.sid]
    assert sent == ["track_published", "track_published", "track_unpublished", "track_unpublished"]


def test_muting_the_encoders_video_stops_its_frames_and_says_so(livekit):
    start_encoder(livekit)

    async def scenario():
        viewer = rtc.Room()
        video: asyncio.Future = asyncio.get_running_loop().create_future()
        viewer.on(
            "track_subscribed",
            lambda track, *_: (
                video.done() or track.kind != rtc.TrackKind.KIND_VIDEO or video.set_result(track)
            ),
        )
        muted = events(viewer, "track_muted")
        await viewer.connect(livekit.ws_url, token(livekit, "viewer"), rtc.RoomOptions(**OPTIONS))
        track = await asyncio.wait_for(video, 15)
        frames = 0

        async def count():
            nonlocal frames
            async for _ in rtc.VideoStream(track):
                frames += 1

        counter = asyncio.create_task(count())
        await until(lambda: frames >= 3)
        [host] = [p for p in livekit.participants(ROOM) if p.identity == "host"]
        [video_info] = [t for t in host.tracks if t.type == proto_models.TrackType.VIDEO]
        async with admin(livekit) as client:
            request = proto_room.MuteRoomTrackRequest(
                room=ROOM, identity="host", track_sid=video_info.sid, muted=True
            )
            reply = await client.room.mute_published_track(request)
        assert reply.track.muted
        name, _, publication = await asyncio.wait_for(muted.get(), 10)
        assert (name, publication.sid, publication.muted) == ("track_muted", video_info.sid, True)
        await asyncio.sleep(0.5)  # what was in flight arrives
        before = frames
        await asyncio.sleep(1.0)
        assert frames <= before + 1, "frames kept coming after the mute"
        counter.cancel()
        await viewer.disconnect()

    run(scenario)
