"""POST /api/viewer/stream/<username>/chat for every kind of caller × every chat setting, against the
stand-in: what reaches the room through SendData, and what is refused (and then never reaches it)."""

import json
import time
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from livekit import api as lk_api
from livekit.protocol import models as proto_models

from accounts.services import block_create, follow_create
from chat import services
from chat.models import ChatMessage, TimeOut
from chat.services import moderator_appoint
from streams import identities
from streams import livekit as door
from streams.live import stream_go_live, stream_go_offline
from streams.selectors import host_get
from streams.services import stream_chat_settings_update, viewer_token_issue

pytestmark = pytest.mark.django_db

URL = "/api/viewer/stream/{}/chat"


def sent(livekit) -> list[dict]:
    """What the server sent to rooms, decoded (each one SendData call)."""
    return [
        json.loads(req.data)
        | {
            "_room": req.room,
            "_topic": req.topic,
            "_kind": req.kind,
            "_to": sorted(req.destination_identities),
        }
        for req in livekit.sent_data
    ]


def guest_token(creator, **kwargs) -> str:
    return viewer_token_issue(
        viewer=None, host=host_get(user_id=creator.pk), guest_name="Zoe", **kwargs
    ).token


def post(client, username="alice", text="hello", token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(URL.format(username), {"text": text}, content_type="application/json", **headers)


def settings_for(stream, setting: str) -> None:
    values = {
        "open": {},
        "disabled": {"is_chat_enabled": False},
        "followers_only": {"is_chat_followers_only": True},
        "delayed": {"is_chat_delayed": True},
        "slow": {"chat_slow_seconds": 30},
    }[setting]
    stream_chat_settings_update(stream=stream, **values)


# Who may chat under each setting: None = 201; a string = 403 with that reason; an int = that status.
# Under slow mode a second message follows at once: refused (429) but for the creator and moderators.
EXPECTED = {
    #                   open       disabled          followers_only    delayed      slow
    "creator": (None, "chat_disabled", None, None, None),
    "moderator": (None, "chat_disabled", None, None, None),
    "follower": (None, "chat_disabled", None, None, None),
    "non_follower": (None, "chat_disabled", "followers_only", None, None),
    "timed_out": ("timed_out", "chat_disabled", "timed_out", "timed_out", "timed_out"),
    "guest": (None, "chat_disabled", "sign_in", None, None),
    "guest_expired": (401, 401, 401, 401, 401),
    "guest_forged": (401, 401, 401, 401, 401),
    "guest_other_room": (403, 403, 403, 403, 403),
    "blocked": (404, 404, 404, 404, 404),
    "blocked_the_creator": (404, 404, 404, 404, 404),
}
SETTINGS = ("open", "disabled", "followers_only", "delayed", "slow")
NEVER_HELD = {"creator", "moderator"}  # by the delay or by slow mode


def as_caller(client, caller, *, creator, viewer, other_creator, settings) -> str | None:
    """Make ``client`` (or the token it returns) the kind of caller named."""
    if caller == "creator":
        client.force_login(creator)
        return None
    if caller.startswith("guest"):
        if caller == "guest_expired":
            settings.LIVEKIT_TOKEN_TTL = -5
        if caller == "guest_forged":
            return (
                lk_api.AccessToken(settings.LIVEKIT_API_KEY, "another-secret-that-is-long-enough-0123456789")
                .with_identity("guest-1764000000000-0a1b2c3d")
                .with_grants(lk_api.VideoGrants(room_join=True, room=door.room_name_for(creator.pk)))
                .to_jwt()
            )
        return guest_token(other_creator if caller == "guest_other_room" else creator)
    if caller in ("follower", "moderator", "timed_out", "blocked"):
        follow_create(follower=viewer, following=creator)
    if caller == "moderator":
        moderator_appoint(creator=creator, username=viewer.username)
    elif caller == "timed_out":
        TimeOut.objects.create(
            creator=creator,
            identity=identities.user_identity(viewer.pk),
            until=timezone.now() + timedelta(minutes=10),
        )
    elif caller == "blocked":
        block_create(blocker=creator, blocked=viewer)
    elif caller == "blocked_the_creator":
        block_create(blocker=viewer, blocked=creator)
    client.force_login(viewer)
    return None


@pytest.mark.parametrize("setting_index,setting", list(enumerate(SETTINGS)))
@pytest.mark.parametrize("caller", list(EXPECTED))
def test_every_caller_under_every_setting(
    client, live, viewer, other_creator, livekit, settings, caller, setting_index, setting
):
    creator = live
    settings_for(creator.stream, setting)
    token = as_caller(
        client, caller, creator=creator, viewer=viewer, other_creator=other_creator, settings=settings
    )
    livekit.sent_data.clear()

    response = post(client, text=f"hi from {caller}", token=token)

    expected = EXPECTED[caller][setting_index]
    if expected is None:
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["text"] == f"hi from {caller}"
        [packet] = sent(livekit)
        assert packet["_room"] == door.room_name_for(creator.pk)
        assert packet["_topic"] == services.CHAT_TOPIC
        assert packet["_kind"] == proto_models.DataPacket.Kind.RELIABLE
        assert packet["type"] == "message"
        if setting == "delayed" and caller not in NEVER_HELD:
            # Held by the delay: to the creator (and moderators) and the sender at once, pending.
            assert packet["message"] == {**body, "pending": True}
            assert f"Host-{creator.pk}" in packet["_to"]
        else:
            assert packet["message"] == body
            assert packet["_to"] == []
        role = {"creator": "creator", "guest": "guest", "moderator": "moderator"}.get(caller, "viewer")
        assert body["role"] == role
        assert ChatMessage.objects.get().text == f"hi from {caller}"
        if setting == "slow":
            again = post(client, text="and again", token=token)
            if caller in NEVER_HELD:
                assert again.status_code == 201
                assert len(sent(livekit)) == 2
            else:
                assert again.status_code == 429
                assert 0 < int(again["Retry-After"]) <= 30
                assert len(sent(livekit)) == 1
    else:
        if isinstance(expected, str):
            assert response.status_code == 403
            assert response.json()["reason"] == expected
            assert response.json()["detail"]
        else:
            assert response.status_code == expected
            assert response.json()["detail"]
            if expected == 404:
                assert response.json() == {"detail": "No such stream."}
        assert sent(livekit) == []
        assert not ChatMessage.objects.exists()


def test_a_message_carries_who_said_it(client, live, viewer, livekit):
    client.force_login(viewer)
    body = post(client, text="  two   words\u202e  ").json()
    assert body["author"] == str(viewer.pk)
    assert body["name"] == "bob"
    assert body["text"] == "two words"  # cleaned as names are: bidi override gone, spaces folded
    assert {"id", "time"} <= set(body)


def test_a_guest_is_named_by_their_token(client, live, livekit):
    token = guest_token(live)
    body = post(client, token=token).json()
    assert body["name"] == "Zoe"
    assert body["author"].startswith("guest-")


def test_an_expired_guest_token_is_refused(client, live, livekit, settings):
    settings.LIVEKIT_TOKEN_TTL = -5
    token = guest_token(live)
    response = post(client, token=token)
    assert response.status_code == 401
    assert sent(livekit) == []


def test_a_guest_token_that_was_accepted_is_refused_once_it_expires(client, live, livekit, settings):
    """What a token proves is kept between messages, but never past its expiry."""
    settings.LIVEKIT_TOKEN_TTL = 2
    token = guest_token(live)
    assert post(client, token=token, text="in time").status_code == 201
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    assert post(client, token=token, text="too late").status_code == 401
    assert len(sent(livekit)) == 1


def test_a_guest_token_that_was_accepted_is_refused_under_a_new_secret(client, live, livekit, settings):
    token = guest_token(live)
    assert post(client, token=token, text="before").status_code == 201
    settings.LIVEKIT_API_SECRET = "a-rotated-secret-that-is-long-enough-0123456789"
    assert post(client, token=token, text="after").status_code == 401


def test_a_forged_guest_token_is_refused(client, live, livekit, settings):
    forged = (
        lk_api.AccessToken(settings.LIVEKIT_API_KEY, "another-secret-that-is-long-enough-0123456789")
        .with_identity("guest-1764000000000-0a1b2c3d")
        .with_grants(lk_api.VideoGrants(room_join=True, room=door.room_name_for(live.pk)))
        .to_jwt()
    )
    response = post(client, token=forged)
    assert response.status_code == 401
    assert sent(livekit) == []


def test_a_guest_token_for_another_room_is_refused(client, live, other_creator, livekit):
    token = guest_token(other_creator)
    response = post(client, token=token)
    assert response.status_code == 403
    assert sent(livekit) == []


def test_a_signed_in_viewers_token_is_no_pass_without_the_session(client, live, viewer, livekit):
    token = viewer_token_issue(viewer=viewer, host=host_get(user_id=live.pk)).token
    assert post(client, token=token).status_code == 401
    assert sent(livekit) == []


def test_nobody_is_401(client, live, livekit):
    assert post(client).status_code == 401
    assert post(client, token="not-a-jwt").status_code == 401
    assert sent(livekit) == []


def test_an_unknown_stream_is_404(client, viewer, livekit):
    client.force_login(viewer)
    assert post(client, username="nobody").status_code == 404


def test_chat_closes_when_the_stream_is_offline(client, live, viewer, livekit):
    stream_go_offline(stream=live.stream)
    client.force_login(viewer)
    response = post(client)
    assert response.status_code == 403
    assert response.json()["reason"] == "offline"
    assert sent(livekit) == []


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u202e", "x" * 501])
def test_empty_or_long_text_is_400(client, live, viewer, livekit, text):
    client.force_login(viewer)
    response = post(client, text=text)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert sent(livekit) == []


def test_500_characters_are_fine(client, live, viewer, livekit):
    client.force_login(viewer)
    assert post(client, text="é" * 500).status_code == 201


def test_a_flood_is_429_with_retry_after(client, live, viewer, livekit, host_cache):
    """On the development cache and on Redis (one script counts there), as deployed."""
    client.force_login(viewer)
    statuses = [post(client, text=f"m{i}").status_code for i in range(services.FLOOD_MESSAGES + 1)]
    # A window boundary can fall inside the burst; then the limit starts over once, never more.
    if statuses[-1] == 201:
        statuses.append(post(client, text="again").status_code)
        statuses += [post(client, text=f"n{i}").status_code for i in range(services.FLOOD_MESSAGES)]
    response = post(client, text="one too many")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= services.FLOOD_SECONDS
    assert len(sent(livekit)) == statuses.count(201)
    assert ChatMessage.objects.count() == statuses.count(201)  # a refused message is rolled back


@pytest.mark.redis
def test_on_redis_each_flood_window_is_one_key_that_expires(client, live, viewer, livekit, settings):
    """The count is one script on Redis: the window's key expires with it, so counts never pile up."""
    from django.core.cache import cache

    from conftest import _redis_url
    from streamit.cache import caches_for, redis_client

    settings.CACHES = caches_for(_redis_url(), socket_timeout=1.0)
    cache.clear()
    client.force_login(viewer)
    for _ in range(2):  # a window may turn between the message and the look; the next one will not
        window = int(time.time() // services.FLOOD_SECONDS)
        assert post(client, text="one").status_code == 201
        if int(time.time() // services.FLOOD_SECONDS) == window:
            break
    key = cache.make_key(f"chat-flood:{live.pk}:{viewer.pk}:{window}")
    assert int(redis_client().get(key)) == 1
    assert 0 < redis_client().ttl(key) <= services.FLOOD_SECONDS + 1
    cache.clear()


def test_the_flood_limit_is_per_chatter(client, live, viewer, outsider, livekit, host_cache):
    client.force_login(viewer)
    for i in range(services.FLOOD_MESSAGES):
        post(client, text=f"m{i}")
    client.force_login(outsider)
    assert post(client, text="my first").status_code == 201


def test_livekit_down_sends_and_keeps_nothing(client, live, viewer, livekit):
    client.force_login(viewer)
    livekit.stop()
    response = post(client)
    assert response.status_code == 503
    assert not ChatMessage.objects.exists()


def test_one_send_data_per_message_whoever_is_in_the_room(client, live, viewer, livekit):
    room = door.room_name_for(live.pk)
    for n in range(30):
        livekit.participant_join(room, f"guest-17640000000{n:02d}-0a1b2c3d", name=f"G{n}")
    client.force_login(viewer)
    post(client, text="to all")
    assert len(livekit.sent_data) == 1


def test_a_message_costs_few_queries(client, live, viewer, livekit, django_assert_num_queries):
    """Session, user, follow/block facts, moderator, then the one insert (which checks the open session
    and time-outs itself) in its transaction (here a savepoint): none per viewer in the room."""
    follow_create(follower=viewer, following=live)
    client.force_login(viewer)
    post(client, text="warm the host cache")
    with django_assert_num_queries(7):
        assert post(client, text="counted").status_code == 201


def test_a_guest_message_is_one_statement(client, live, livekit, django_assert_num_queries):
    """A guest is known by their token and the host comes from the cache: nothing is read before the
    insert, which finds the open session and checks the time-outs itself (the bench's 300/s rests on it)."""
    token = guest_token(live)
    post(client, token=token, text="warm")
    with django_assert_num_queries(3) as captured:  # the insert, inside the savepoint of its transaction
        assert post(client, token=token, text="counted").status_code == 201
    [statement] = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert statement.split()[0].upper() == "INSERT"


def test_a_refused_message_stores_nothing_and_tells_why(client, live, viewer, livekit):
    """Offline and timed out are decided by the insert itself; the refusal still names the reason."""
    client.force_login(viewer)
    stream_go_offline(stream=live.stream)
    assert post(client).json()["reason"] == "offline"
    stream_go_live(stream=live.stream)
    assert post(client, text="new session").status_code == 201
    assert ChatMessage.objects.get().session == live.stream.sessions.get(ended_at__isnull=True)
