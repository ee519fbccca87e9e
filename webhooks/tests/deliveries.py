"""Deliveries built by the stand-in's emitter (``livekit.build_webhook``) and posted to the receiver."""

import json
import urllib.error
import urllib.request

from streams.livekit import room_name_for
from streams.models import Stream

URL = "/api/webhook/livekit"


def post(client, delivery: tuple[bytes, str]):
    body, auth = delivery
    headers = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return client.post(URL, data=body, content_type="application/webhook+json", **headers)


def ingress_event(livekit, name: str, stream: Stream, *, at_ms: int, event_id: str | None = None):
    """ingress_started / ingress_ended for the stream's ingress, with the ingress state's clock at at_ms."""
    publishing = name == "ingress_started"
    state = {"status": "ENDPOINT_PUBLISHING" if publishing else "ENDPOINT_INACTIVE"}
    state["updatedAt"] = str(at_ms * 1_000_000)  # LiveKit's ingress clocks are nanoseconds
    state["startedAt" if publishing else "endedAt"] = state["updatedAt"]
    ingress = {
        "ingressId": stream.ingress_id,
        "roomName": room_name_for(stream.user_id),
        "participantIdentity": str(stream.user_id),
        "streamKey": stream.stream_key or "secretkey123",
        "state": state,
    }
    return livekit.build_webhook(name, ingress=ingress, created_at=at_ms // 1000, event_id=event_id)


def participant_event(
    livekit,
    name: str,
    stream: Stream,
    identity: str,
    *,
    joined_at_ms: int,
    created_at: int | None = None,
    kind: str = "STANDARD",
    event_id: str | None = None,
):
    """participant_joined / _left / _connection_aborted in the stream's room for one connection."""
    participant = {
        "identity": identity,
        "name": identity,
        "kind": kind,
        "joinedAt": str(joined_at_ms // 1000),
        "joinedAtMs": str(joined_at_ms),
    }
    return livekit.build_webhook(
        name,
        room={"name": room_name_for(stream.user_id)},
        participant=participant,
        created_at=created_at if created_at is not None else joined_at_ms // 1000,
        event_id=event_id,
    )


def room_event(livekit, name: str, stream: Stream, *, created_at: int, event_id: str | None = None):
    return livekit.build_webhook(
        name, room={"name": room_name_for(stream.user_id)}, created_at=created_at, event_id=event_id
    )


def http_post(base_url: str, delivery: tuple[bytes, str]) -> tuple[int, dict]:
    """Post a delivery over HTTP, as LiveKit does, to a running server (live_server)."""
    body, auth = delivery
    request = urllib.request.Request(
        base_url + URL,
        data=body,
        method="POST",
        headers={"Content-Type": "application/webhook+json", "Authorization": auth},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
