"""The permission table of streams/tokens.py, read back with the SDK's own verifier."""

import time
from datetime import timedelta

import jwt
import pytest
from livekit import api

from streams import identities, tokens

SECRET = "test-secret-that-is-at-least-32-bytes-long-0123"


@pytest.fixture(autouse=True)
def _livekit_settings(settings):
    settings.LIVEKIT_URL = "wss://live.example.com"
    settings.LIVEKIT_API_KEY = "APItokens"
    settings.LIVEKIT_API_SECRET = SECRET
    settings.LIVEKIT_ROOM_PREFIX = "site1-"
    settings.LIVEKIT_TOKEN_TTL = 300


def decode(token: str):
    return api.TokenVerifier("APItokens", SECRET).verify(token)


def assert_viewer_grants(claims, *, room: str, can_publish_data: bool):
    grants = claims.video
    assert grants.room_join is True
    assert grants.room == room
    assert grants.can_publish is False
    assert grants.can_subscribe is True
    assert grants.can_publish_data is can_publish_data
    # No admin rights ever reach a browser.
    assert not grants.room_admin and not grants.room_create and not grants.room_list
    assert not grants.ingress_admin and not grants.room_record


@pytest.mark.parametrize("can_chat", [True, False])
def test_the_creator_self_view_watches_without_publishing(can_chat):
    issued = tokens.creator_self_view_token(user_id=7, username="alice", can_chat=can_chat)
    claims = decode(issued.token)
    assert claims.identity == issued.identity == "Host-7"
    assert claims.name == issued.name == "alice"
    assert_viewer_grants(claims, room="site1-7", can_publish_data=can_chat)
    assert issued.ws_url == "wss://live.example.com"


@pytest.mark.parametrize("can_chat", [True, False])
def test_a_viewer_joins_as_their_user_id(can_chat):
    issued = tokens.viewer_token(viewer_id=12, host_id=7, name="bob", can_chat=can_chat)
    claims = decode(issued.token)
    assert claims.identity == "12"
    assert claims.name == "bob"
    assert_viewer_grants(claims, room="site1-7", can_publish_data=can_chat)


@pytest.mark.parametrize("can_chat", [True, False])
def test_a_guest_gets_a_server_made_identity(can_chat):
    issued = tokens.guest_token(host_id=7, guest_name="Zoe", can_chat=can_chat)
    claims = decode(issued.token)
    assert claims.identity == issued.identity
    assert identities.is_guest_identity(issued.identity)
    stamp = int(issued.identity.split("-")[1])
    assert abs(stamp - time.time() * 1000) < 60_000
    assert claims.name == "Zoe"
    assert_viewer_grants(claims, room="site1-7", can_publish_data=can_chat)


def test_two_guests_never_share_an_identity():
    identities = {tokens.guest_token(host_id=7, guest_name="x", can_chat=True).identity for _ in range(200)}
    assert len(identities) == 200


def test_tokens_expire_after_the_configured_ttl(settings):
    settings.LIVEKIT_TOKEN_TTL = 120
    issued = tokens.viewer_token(viewer_id=12, host_id=7, name="bob", can_chat=True)
    payload = jwt.decode(issued.token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert payload["exp"] - time.time() == pytest.approx(120, abs=5)
    assert payload["iss"] == "APItokens"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Zoe\x00\x07\u200b\u202e", "Zoe"),
        ("  lots \n\t of   space ", "lots of space"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("x" * 500, "x" * tokens.DISPLAY_NAME_MAX),
        ("\x00\x01", "Guest"),
        ("", "Guest"),
    ],
)
def test_a_hostile_guest_name_comes_back_cleaned(raw, cleaned):
    issued = tokens.guest_token(host_id=7, guest_name=raw, can_chat=True)
    assert issued.name == cleaned
    assert decode(issued.token).name == cleaned


@pytest.mark.parametrize(
    ("enabled", "followers_only", "is_creator", "is_guest", "follows", "blocked", "expected"),
    [
        (False, False, True, False, False, False, (False, "chat_disabled")),
        (False, False, False, False, True, False, (False, "chat_disabled")),
        (True, True, True, False, False, False, (True, None)),
        (True, False, False, False, False, True, (False, "blocked")),
        (False, True, False, False, True, True, (False, "blocked")),  # a block says so, whatever the settings
        (True, True, False, True, False, False, (False, "sign_in")),
        (True, False, False, True, False, False, (True, None)),
        (True, True, False, False, False, False, (False, "followers_only")),
        (True, True, False, False, True, False, (True, None)),
        (True, False, False, False, False, False, (True, None)),
    ],
)
def test_the_chat_policy(enabled, followers_only, is_creator, is_guest, follows, blocked, expected):
    facts = {"is_creator": is_creator, "is_guest": is_guest, "follows": follows, "blocked": blocked}
    assert tokens.chat_permission(chat_enabled=enabled, followers_only=followers_only, **facts) == expected


def sdk_token(*, identity: str, name: str, room: str, can_publish_data: bool) -> str:
    """What LiveKit's own builder writes for the same row: the reference ``tokens._sign`` must equal."""
    grants = api.VideoGrants(
        room_join=True, room=room, can_publish=False, can_subscribe=True, can_publish_data=can_publish_data
    )
    return (
        api.AccessToken("APItokens", SECRET)
        .with_identity(identity)
        .with_name(name)
        .with_grants(grants)
        .with_ttl(timedelta(seconds=300))
        .to_jwt()
    )


@pytest.mark.parametrize("can_chat", [True, False])
@pytest.mark.parametrize("row", ["creator", "viewer", "guest"])
def test_our_token_reads_back_exactly_as_the_sdks_would(row, can_chat):
    issued = {
        "creator": lambda: tokens.creator_self_view_token(user_id=7, username="alice", can_chat=can_chat),
        "viewer": lambda: tokens.viewer_token(viewer_id=12, host_id=7, name="bob", can_chat=can_chat),
        "guest": lambda: tokens.guest_token(host_id=7, guest_name="Zoe", can_chat=can_chat),
    }[row]()
    reference = sdk_token(
        identity=issued.identity, name=issued.name, room="site1-7", can_publish_data=can_chat
    )
    # The SDK's verifier sees the same claims (identity, name, every grant, nothing else)...
    assert decode(issued.token) == decode(reference)
    # ...and the JWTs carry the same header and payload, times within the second they were made.
    assert jwt.get_unverified_header(issued.token) == jwt.get_unverified_header(reference)
    ours, theirs = (
        jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
        for token in (issued.token, reference)
    )
    for stamp in ("nbf", "exp"):
        assert abs(ours.pop(stamp) - theirs.pop(stamp)) <= 1
    assert ours == theirs
