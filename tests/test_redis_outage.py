"""Redis down (nothing listening) or frozen (accepts, never answers): the site keeps working.

Viewers get tokens and pages, people log in, the API answers; the outage is logged. The API throttles and
the log-in lockout fail open; the sign-up and password-reset limits fail closed (503). No Redis is needed:
a down Redis is an unused port, a frozen one a socket that listens and never reads.
"""

import logging
import socket
import time

import pytest
from django.urls import reverse

from accounts.models import User
from conftest import PASSWORD
from streamit import cache as streamit_cache
from streamit.cache import _down_until, caches_for

pytestmark = pytest.mark.django_db

TIMEOUT = 0.25


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _forget_outages():
    _down_until.clear()
    yield
    _down_until.clear()


@pytest.fixture(params=["down", "frozen"])
def broken_redis(request, settings):
    if request.param == "down":
        settings.CACHES = caches_for(f"redis://127.0.0.1:{unused_port()}/0", socket_timeout=TIMEOUT)
        yield request.param
        return
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(64)  # the kernel completes connections; nobody ever reads or answers
        settings.CACHES = caches_for(f"redis://127.0.0.1:{frozen.getsockname()[1]}/0", socket_timeout=TIMEOUT)
        yield request.param


@pytest.fixture
def timed():
    """Each request may wait for a few cache calls' timeouts, never for the old 5 s per call."""
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 20


def test_a_guest_gets_a_token_and_the_outage_is_logged(client, creator, broken_redis, caplog, timed):
    with caplog.at_level(logging.ERROR):
        response = client.post(
            reverse("viewers-api:token"), {"username": "alice"}, content_type="application/json"
        )

    assert response.status_code == 200
    assert response.json()["token"]
    assert any(
        record.name == "streamit.cache" and "failed" in record.getMessage() for record in caplog.records
    )


def test_pages_and_lists_still_answer(client, creator, viewer, broken_redis, timed):
    assert client.get("/").status_code == 200
    assert client.get("/alice/live").status_code == 200
    status = reverse("viewers-api:stream-status", args=["alice"])
    assert client.get(status).json() == {"isLive": False, "viewerCount": 0}  # from the database
    assert client.get(reverse("viewers-api:live")).status_code == 200
    client.force_login(viewer)
    assert client.post(reverse("viewers-api:follow", args=["alice"])).status_code in (200, 201)


def test_a_creator_gets_their_credentials(client, creator, broken_redis, timed):
    client.force_login(creator)
    assert client.get(reverse("streams-api:credentials")).status_code in (200, 404)


def test_people_still_log_in_and_a_wrong_password_is_a_form_error(client, viewer, broken_redis, timed):
    login = reverse("accounts:login")
    assert client.post(login, {"username": "bob", "password": "wrong"}).status_code == 200
    response = client.post(login, {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"].is_authenticated


def test_sign_up_and_password_reset_fail_closed(client, viewer, broken_redis, timed):
    response = client.post(
        reverse("accounts:signup"),
        {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": "a-Long-passphrase-42",
            "password2": "a-Long-passphrase-42",
        },
    )
    assert response.status_code == 503
    assert not User.objects.filter(username="newcomer").exists()
    assert client.post(reverse("accounts:password-reset"), {"email": "bob@example.com"}).status_code == 503
    # Reading the forms needs no count.
    assert client.get(reverse("accounts:signup")).status_code == 200


def test_after_one_failure_the_process_stops_waiting_for_a_frozen_redis(broken_redis, db):
    from django.core.cache import cache

    started = time.monotonic()
    for _ in range(10):
        assert cache.get("anything") is None
    # One timeout (or two, connect then read), then nothing: ten calls waited for 2.5 s before.
    assert time.monotonic() - started < 1.5


@pytest.mark.redis
def test_redis_is_tried_again_after_the_pause(settings, monkeypatch):
    from django.core.cache import caches
    from redis.exceptions import ConnectionError as RedisConnectionError

    from conftest import _redis_url

    monkeypatch.setattr(streamit_cache, "REDIS_RETRY_SECONDS", 0.3)
    settings.CACHES = caches_for(_redis_url(), socket_timeout=TIMEOUT)
    caches["limits"].set("probe", 1)
    connection_class = caches["limits"].client.get_client().connection_pool.connection_class
    assert connection_class is streamit_cache.FailFastConnection
    pool = caches["limits"].client.get_client().connection_pool
    pool.disconnect()
    _down_until[(pool.connection_kwargs["host"], pool.connection_kwargs["port"])] = time.monotonic() + 0.3

    with pytest.raises(RedisConnectionError):
        caches["limits"].get("probe")
    time.sleep(0.35)
    assert caches["limits"].get("probe") == 1


def test_chat_messages_still_go_through_without_the_flood_count(
    client, creator, livekit, broken_redis, timed
):
    """The flood limit and slow mode fail open: a cache outage must not silence every chat."""
    from chat.models import ChatMessage
    from streams import livekit as door
    from streams.live import stream_go_live
    from streams.services import stream_chat_settings_update

    stream_go_live(stream=creator.stream)
    stream_chat_settings_update(stream=creator.stream, chat_slow_seconds=30)
    livekit.room_create(door.room_name_for(creator.pk))
    guest = client.post(reverse("viewers-api:token"), {"username": "alice"}, content_type="application/json")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {guest.json()['token']}"}
    for text in ("first", "second"):
        response = client.post(
            "/api/viewer/stream/alice/chat", {"text": text}, content_type="application/json", **headers
        )
        assert response.status_code == 201, response.content
    assert ChatMessage.objects.count() == 2
    assert len(livekit.sent_data) == 2
