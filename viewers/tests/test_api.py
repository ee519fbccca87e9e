"""The viewer API for each caller: anonymous, guest-named, follower, non-follower, blocked, creator."""

import itertools

import pytest
from livekit import api as lk_api
from rest_framework.test import APIClient

from accounts.models import Block, Follow
from conftest import make_user
from streams import identities, tokens

CHAT_SETTINGS = list(itertools.product([True, False], repeat=3))  # enabled, delayed, followers-only


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def follower(creator):
    user = make_user("fran")
    Follow.objects.create(follower=user, following=creator)
    return user


@pytest.fixture
def blocked(creator):
    user = make_user("blake")
    Block.objects.create(blocker=creator, blocked=user)
    return user


def as_user(client, user):
    if user is not None:
        client.force_login(user)
    return client


def decode(livekit, token):
    return lk_api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)


def set_chat(stream, enabled, delayed, followers_only):
    stream.is_chat_enabled, stream.is_chat_delayed, stream.is_chat_followers_only = (
        enabled,
        delayed,
        followers_only,
    )
    stream.save()


# --- Stream info -------------------------------------------------------------------------------------


def test_stream_info_is_public_and_holds_no_secret(client, creator):
    stream = creator.stream
    stream.title, stream.stream_key, stream.ingress_id = "Speedruns", "sk_secret_key", "IN_secret12345"
    stream.server_url = "rtmp://secret.example/x"
    stream.save()

    response = client.get("/api/viewer/stream/alice")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Speedruns"
    assert body["user"] == {"id": creator.pk, "username": "alice"}
    assert body["hostId"] == body["userId"] == creator.pk  # ours and the seed's name
    assert body["thumbnail"] is None and body["thumbnailUrl"] is None
    assert body["isLive"] is False and body["viewerCount"] == 0
    assert body["isFollowing"] is False and body["isCreator"] is False
    assert body["isChatEnabled"] is True and body["canChat"] is True and body["chatBlockedReason"] is None
    for secret in ("sk_secret_key", "IN_secret12345", "secret.example"):
        assert secret not in response.content.decode()
    assert "streamKey" not in body and "ingressId" not in body and "serverUrl" not in body


def test_usernames_match_in_any_case(client, creator):
    assert client.get("/api/viewer/stream/ALICE").json()["user"]["username"] == "alice"


@pytest.mark.parametrize("username", ["nobody", "bob"])
def test_an_unknown_or_non_creator_username_is_404(client, viewer, username):
    response = client.get(f"/api/viewer/stream/{username}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such stream."}


def test_a_blocked_viewer_gets_404_everywhere(client, creator, blocked):
    as_user(client, blocked)
    assert client.get("/api/viewer/stream/alice").status_code == 404
    assert client.get("/api/viewer/stream/alice/status").status_code == 404
    assert client.post("/api/viewer/token", {"username": "alice"}, format="json").status_code == 404
    assert client.post("/api/viewer/token", {"hostId": creator.pk}, format="json").status_code == 404
    assert client.post("/api/users/alice/follow").status_code == 404


@pytest.mark.parametrize(
    ("who", "followers_only", "can_chat", "reason"),
    [
        ("anonymous", False, True, None),
        ("anonymous", True, False, "sign_in"),
        ("follower", True, True, None),
        ("viewer", True, False, "followers_only"),
        ("creator", True, True, None),
    ],
)
def test_stream_info_says_whether_the_caller_may_chat(
    client, request, creator, follower, viewer, who, followers_only, can_chat, reason
):
    set_chat(creator.stream, True, True, followers_only)
    user = None if who == "anonymous" else request.getfixturevalue(who)
    body = as_user(client, user).get("/api/viewer/stream/alice").json()
    assert (body["canChat"], body["chatBlockedReason"]) == (can_chat, reason)
    assert body["isFollowing"] is (who == "follower")
    # The seed's "delay messages": every viewer waits, the creator does not.
    assert body["chatDelaySeconds"] == (0 if who == "creator" else tokens.CHAT_DELAY_SECONDS)


def test_status_is_the_live_flag_and_count_only(client, creator, django_assert_max_num_queries):
    creator.stream.is_live, creator.stream.viewer_count = True, 12
    creator.stream.save()
    with django_assert_max_num_queries(1):
        response = client.get("/api/viewer/stream/alice/status")
    assert response.json() == {"isLive": True, "viewerCount": 12}


# --- Tokens --------------------------------------------------------------------------------------------


def expected_right(who, enabled, followers_only):
    if not enabled:
        return False
    if who in ("creator", "follower"):
        return True
    return not followers_only


@pytest.mark.parametrize(("enabled", "delayed", "followers_only"), CHAT_SETTINGS)
@pytest.mark.parametrize("who", ["guest", "follower", "viewer", "creator"])
def test_the_token_carries_the_server_decided_right_to_chat(
    client, request, livekit, creator, follower, viewer, who, enabled, delayed, followers_only
):
    set_chat(creator.stream, enabled, delayed, followers_only)
    user = None if who == "guest" else request.getfixturevalue(who)
    body = {"username": "alice", "guestName": "Zoe"} if who == "guest" else {"hostId": creator.pk}

    response = as_user(client, user).post("/api/viewer/token", body, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    claims = decode(livekit, data["token"])
    expected_identity = {
        "guest": data["identity"],
        "follower": str(follower.pk),
        "viewer": str(viewer.pk),
        "creator": f"Host-{creator.pk}",
    }[who]
    assert claims.identity == data["identity"] == expected_identity
    if who == "guest":
        assert identities.is_guest_identity(data["identity"]) and data["name"] == "Zoe"
    assert claims.video.room == str(creator.pk)
    assert claims.video.room_join is True
    assert claims.video.can_publish is False
    assert claims.video.can_subscribe is True
    assert claims.video.can_publish_data is expected_right(who, enabled, followers_only)
    assert data["wsUrl"] == livekit.ws_url


def test_a_hostile_guest_name_comes_back_cleaned(client, livekit, creator):
    for raw, cleaned in [("x" * 500, "x" * 40), ("<b>Zoe</b>\x00\u202e", "<b>Zoe</b>"), ("   ", "Guest")]:
        data = client.post("/api/viewer/token", {"username": "alice", "guestName": raw}, format="json").json()
        assert data["name"] == cleaned
        assert decode(livekit, data["token"]).name == cleaned


def test_two_guests_get_different_identities(client, creator):
    first = client.post("/api/viewer/token", {"username": "alice"}, format="json").json()
    second = client.post("/api/viewer/token", {"username": "alice"}, format="json").json()
    assert first["identity"] != second["identity"]
    assert first["name"] == "Guest"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"hostId": "seven"},
        {"hostId": 0},
        {"username": ""},
        {"username": "alice", "guestName": 5 * "x" * 300},
    ],
)
def test_bad_token_requests_are_400(client, creator, body):
    response = client.post("/api/viewer/token", body, format="json")
    assert response.status_code == 400


def test_an_unknown_host_is_404(client, viewer):
    assert client.post("/api/viewer/token", {"hostId": viewer.pk}, format="json").status_code == 404
    assert client.post("/api/viewer/token", {"hostId": 99999}, format="json").status_code == 404


def test_the_token_endpoint_is_throttled_per_ip(client, creator, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "token_ip": "3/min"}
    )

    def ask(ip, **headers):
        return client.post(
            "/api/viewer/token", {"username": "alice"}, format="json", REMOTE_ADDR=ip, **headers
        )

    responses = [ask("10.0.0.1") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert int(responses[-1]["Retry-After"]) > 0
    assert "detail" in responses[-1].json()
    # No trusted proxy: a forged X-Forwarded-For cannot reset the limit.
    assert ask("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert ask("10.0.0.2").status_code == 200


def test_the_61st_token_request_in_a_minute_from_one_ip_is_refused_by_default(client, creator, settings):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token_ip"] == "60/min"
    statuses = [
        client.post(
            "/api/viewer/token", {"username": "alice"}, format="json", REMOTE_ADDR="10.9.9.9"
        ).status_code
        for _ in range(61)
    ]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
