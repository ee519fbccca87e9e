"""The stand-in speaks like LiveKit: its webhooks pass the SDK's receiver, its refusals match LiveKit's."""

import asyncio
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from livekit import api
from livekit.protocol import ingress as proto_ingress
from livekit.protocol import room as proto_room


class Site:
    """A throwaway web site that records the deliveries it receives."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                site.received.append((self.headers["Authorization"], json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def site(livekit):
    site = Site()
    livekit.site_url = site.url
    yield site
    site.server.shutdown()


def call(livekit, action, *, secret=None):
    async def run():
        async with api.LiveKitAPI(livekit.url, livekit.api_key, secret or livekit.api_secret) as client:
            return await action(client)

    # A thread of its own: browser tests leave Playwright's event loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def receiver(livekit, secret=None):
    return api.WebhookReceiver(api.TokenVerifier(livekit.api_key, secret or livekit.api_secret))


def test_its_webhooks_pass_the_sdks_receiver(livekit):
    body, auth = livekit.build_webhook("room_started", room={"name": "7"})
    assert not auth.startswith("Bearer")
    event = receiver(livekit).receive(body.decode(), auth)
    assert event.event == "room_started" and event.room.name == "7"
    assert event.id.startswith("EV_") and event.created_at > 0


def test_a_changed_byte_or_another_secret_is_refused(livekit):
    body, auth = livekit.build_webhook("room_started", room={"name": "7"})
    with pytest.raises(Exception, match="hash mismatch"):
        receiver(livekit).receive(body.decode().replace('"7"', '"8"'), auth)
    with pytest.raises(Exception, match="Signature"):
        receiver(livekit, secret="another-secret-that-is-at-least-32-bytes").receive(body.decode(), auth)


def test_the_encoder_and_viewers_send_what_livekit_sends(livekit, site):
    info = call(
        livekit,
        lambda c: c.ingress.create_ingress(
            proto_ingress.CreateIngressRequest(
                input_type=proto_ingress.IngressInput.RTMP_INPUT, room_name="7", participant_identity="7"
            )
        ),
    )
    livekit.encoder_start(info.ingress_id)
    livekit.participant_join("7", "12", name="bob")
    livekit.encoder_stop(info.ingress_id)

    events = [body["event"] for _, body in site.received]
    assert events == [
        "room_started",
        "ingress_started",
        "participant_joined",
        "track_published",  # the encoder's video and audio, as LiveKit's ingress publishes them
        "track_published",
        "participant_joined",
        "track_unpublished",
        "track_unpublished",
        "participant_left",
        "ingress_ended",
    ]
    for auth, body in site.received:
        receiver(livekit).receive(json.dumps(body, separators=(",", ":")), auth)
    started = site.received[1][1]["ingressInfo"]
    assert started["state"]["status"] == "ENDPOINT_PUBLISHING"
    assert int(started["state"]["updatedAt"]) > 0
    assert site.received[2][1]["participant"]["kind"] == "INGRESS"


def test_duplicate_mode_delivers_each_event_twice(livekit, site):
    livekit.webhook_mode = "duplicate"
    livekit.participant_join("7", "12")
    ids = [body["id"] for _, body in site.received]
    assert len(ids) == 4 and ids[0] == ids[1] and ids[2] == ids[3]


def test_held_deliveries_are_released_in_the_order_asked(livekit, site):
    livekit.webhook_mode = "hold"
    livekit.participant_join("7", "12")
    livekit.participant_leave("7", "12")
    assert site.received == []
    livekit.release_held("reverse")
    assert [body["event"] for _, body in site.received] == [
        "participant_left",
        "participant_joined",
        "room_started",
    ]


def test_drop_mode_loses_deliveries(livekit, site):
    livekit.webhook_mode = "drop"
    livekit.participant_join("7", "12")
    assert site.received == [] and len(livekit.webhooks) == 2


def test_a_wrong_secret_gets_livekits_plain_text_401(livekit):
    with pytest.raises(api.TwirpError) as caught:
        call(livekit, lambda c: c.room.list_rooms(proto_room.ListRoomsRequest()), secret="x" * 40)
    assert caught.value.status == 401
    assert caught.value.code == "unknown"  # plain text, as LiveKit answers a bad signature


def test_a_missing_grant_gets_a_twirp_unauthenticated(livekit):
    livekit.require_extra_grant = "roomRecord"
    with pytest.raises(api.TwirpError) as caught:
        call(livekit, lambda c: c.room.list_rooms(proto_room.ListRoomsRequest()))
    assert (caught.value.status, caught.value.code) == (401, "unauthenticated")


def test_listing_ingresses_is_paginated(livekit):
    for n in range(25):
        call(
            livekit,
            lambda c, n=n: c.ingress.create_ingress(
                proto_ingress.CreateIngressRequest(
                    input_type=proto_ingress.IngressInput.WHIP_INPUT, room_name=str(n)
                )
            ),
        )
    first = call(livekit, lambda c: c.ingress.list_ingress(proto_ingress.ListIngressRequest()))
    assert len(first.items) == 20 and first.next_page_token.token
    request = proto_ingress.ListIngressRequest(page_token=first.next_page_token)
    second = call(livekit, lambda c: c.ingress.list_ingress(request))
    assert len(second.items) == 5 and not second.next_page_token.token


def test_it_answers_rtc_validate_with_cors_and_records_the_token(livekit):
    token = (
        api.AccessToken(livekit.api_key, livekit.api_secret)
        .with_identity("12")
        .with_grants(api.VideoGrants(room_join=True, room="7"))
        .to_jwt()
    )
    with urllib.request.urlopen(f"{livekit.url}/rtc/v1/validate?access_token={token}") as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert livekit.recorded_tokens == [token]
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{livekit.url}/rtc/validate?access_token=forged")
    assert caught.value.code == 401


def test_the_control_api_drives_the_world_from_another_process(livekit, site):
    info = call(
        livekit,
        lambda c: c.ingress.create_ingress(
            proto_ingress.CreateIngressRequest(
                input_type=proto_ingress.IngressInput.RTMP_INPUT, room_name="7"
            )
        ),
    )

    def post(path, data):
        request = urllib.request.Request(
            f"{livekit.url}{path}",
            data=json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as response:
            return json.load(response)

    assert post("/_standin/encoder", {"room": "7", "action": "start"}) == {"ingresses": [info.ingress_id]}
    post("/_standin/participants", {"room": "7", "identity": "guest-1", "action": "join"})
    with urllib.request.urlopen(f"{livekit.url}/_standin/state") as response:
        state = json.load(response)
    assert state["ingresses"][0]["status"] == "ENDPOINT_PUBLISHING"
    assert sorted(state["rooms"]["7"]) == ["", "guest-1"]
    assert "ingress_started" in [body["event"] for _, body in site.received]


def test_the_development_command_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("livekit_standin")
