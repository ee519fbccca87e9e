"""The signalling channel byte for byte, with a bare WebSocket and LiveKit's protobuf messages (no SDK, no
peer connection): what any LiveKit client reads first, keepalive, a clean leave, refusals."""

import asyncio
import base64
import gzip
from concurrent.futures import ThreadPoolExecutor

import aiohttp
from livekit import api
from livekit.protocol import models as proto_models
from livekit.protocol import rtc as proto_rtc

ROOM = "7"


def run(coroutine_function):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result(timeout=30)


def token(livekit, identity, **grants):
    grant = api.VideoGrants(**{"room_join": True, "room": ROOM, **grants})
    return (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_identity(identity)
        .with_grants(grant)
        .to_jwt()
    )


def join_query(reconnect=False) -> str:
    join = proto_rtc.JoinRequest(reconnect=reconnect)
    join.client_info.sdk = proto_models.ClientInfo.JS
    join.client_info.protocol, join.client_info.client_protocol = 17, 2
    wrapped = proto_rtc.WrappedJoinRequest(
        compression=proto_rtc.WrappedJoinRequest.GZIP, join_request=gzip.compress(join.SerializeToString())
    )
    return base64.urlsafe_b64encode(wrapped.SerializeToString()).decode()


async def receive(ws) -> proto_rtc.SignalResponse:
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type == aiohttp.WSMsgType.BINARY, message
    return proto_rtc.SignalResponse.FromString(message.data)


async def send(ws, **request):
    await ws.send_bytes(proto_rtc.SignalRequest(**request).SerializeToString())


def test_the_join_response_comes_first_then_pongs_and_a_clean_leave(livekit):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            url = f"{livekit.ws_url}/rtc/v1"
            alice = await http.ws_connect(
                url, params={"access_token": token(livekit, "alice"), "join_request": join_query()}
            )
            first = await receive(alice)
            assert first.WhichOneof("message") == "join"
            join = first.join
            assert (join.participant.identity, join.room.name) == ("alice", ROOM)
            assert join.participant.sid.startswith("PA_") and join.room.sid.startswith("RM_")
            assert join.server_info.version and join.server_version == join.server_info.version
            assert (join.ping_interval, join.ping_timeout, join.subscriber_primary) == (5, 15, False)
            assert join.participant.client_protocol == 2

            bob = await http.ws_connect(
                url, params={"access_token": token(livekit, "bob"), "join_request": join_query()}
            )
            assert [p.identity for p in (await receive(bob)).join.other_participants] == ["alice"]
            update = await receive(alice)
            assert [p.identity for p in update.update.participants] == ["bob"]

            await send(alice, ping=1234)
            assert (await receive(alice)).pong > 1234
            await send(alice, ping_req=proto_rtc.Ping(timestamp=99, rtt=3))
            pong = (await receive(alice)).pong_resp
            assert pong.last_ping_timestamp == 99 and pong.timestamp > 0

            await send(bob, leave=proto_rtc.LeaveRequest(reason=proto_models.CLIENT_INITIATED))
            gone = (await receive(alice)).update.participants[0]
            assert (gone.identity, gone.state, gone.disconnect_reason) == (
                "bob",
                proto_models.ParticipantInfo.DISCONNECTED,
                proto_models.CLIENT_INITIATED,
            )
            assert gone.version > update.update.participants[0].version
            await alice.close()
            await bob.close()

    run(scenario)


def test_refusals_happen_before_the_upgrade_as_plain_text(livekit):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            url = f"{livekit.ws_url}/rtc/v1"
            forged = token(livekit, "bob")[:-3] + "abc"
            try:
                await http.ws_connect(url, params={"access_token": forged, "join_request": join_query()})
            except aiohttp.WSServerHandshakeError as error:
                assert error.status == 401
            else:
                raise AssertionError("a forged token was let in")
            no_join = token(livekit, "bob", room_join=False)
            async with http.get(
                f"{livekit.url}/rtc/v1/validate", params={"access_token": no_join}
            ) as response:
                assert response.status == 401 and "roomJoin" in await response.text()
            async with http.get(url, params={"access_token": token(livekit, "bob")}) as response:
                assert response.status == 404  # not an upgrade

    run(scenario)
    assert livekit.participants(ROOM) == []


def test_a_resume_of_an_unknown_session_is_told_to_reconnect(livekit):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            params = {"access_token": token(livekit, "bob"), "join_request": join_query(reconnect=True)}
            ws = await http.ws_connect(f"{livekit.ws_url}/rtc/v1", params=params)
            leave = (await receive(ws)).leave
            assert (leave.reason, leave.action) == (
                proto_models.STATE_MISMATCH,
                proto_rtc.LeaveRequest.RECONNECT,
            )
            await ws.close()

    run(scenario)


def test_a_hidden_participant_is_not_announced_to_the_others(livekit):
    async def scenario():
        async with aiohttp.ClientSession() as http:
            url = f"{livekit.ws_url}/rtc/v1"
            alice = await http.ws_connect(
                url, params={"access_token": token(livekit, "alice"), "join_request": join_query()}
            )
            await receive(alice)
            params = {"access_token": token(livekit, "recorder", hidden=True), "join_request": join_query()}
            recorder = await http.ws_connect(url, params=params)
            assert (await receive(recorder)).join.participant.permission.hidden
            bob = await http.ws_connect(
                url, params={"access_token": token(livekit, "bob"), "join_request": join_query()}
            )
            assert [p.identity for p in (await receive(bob)).join.other_participants] == ["alice"]
            update = await receive(alice)  # the first news alice gets is bob, never the recorder
            assert [p.identity for p in update.update.participants] == ["bob"]
            for ws in (alice, recorder, bob):
                await ws.close()

    run(scenario)
