"""Chat closed to guests while they keep asking for tokens: after the commit, no token may grant chat.

Issue 14 #8: the cached host was dropped inside the transaction, so a token request in that gap cached the
old row again for minutes (5 of 250 toggles granted canPublishData with chat off). Real threads, real
commits, PostgreSQL.
"""

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from livekit import api as lk_api

from streams import services
from streams.models import Stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 6
TOGGLES = 30


@pytest.fixture
def unthrottled(monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "1000000/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)


# Each change takes chat from a guest: chat switched off, or followers-only switched on.
CHANGES = [("is_chat_enabled", False, True), ("is_chat_followers_only", True, False)]


@pytest.mark.parametrize(("field", "closed", "opened"), CHANGES)
def test_no_token_grants_chat_once_chat_off_has_committed(
    host_cache, livekit, creator, unthrottled, field, closed, opened
):
    verifier = lk_api.TokenVerifier(livekit.api_key, livekit.api_secret)
    grants: list[tuple[float, float, bool]] = []  # (asked at, answered at, can_publish_data)
    errors: list[BaseException] = []
    stop = threading.Event()

    def guest():
        client = Client()
        try:
            while not stop.is_set():
                asked = time.monotonic()
                response = client.post(
                    "/api/viewer/token", {"username": "alice"}, content_type="application/json"
                )
                answered = time.monotonic()
                assert response.status_code == 200, response.content
                grants.append(
                    (asked, answered, verifier.verify(response.json()["token"]).video.can_publish_data)
                )
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=guest) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    off_windows: list[tuple[float, float]] = []  # chat off committed .. chat on begins
    try:
        for _ in range(TOGGLES):
            services.stream_chat_settings_update(stream=Stream.objects.get(user=creator), **{field: closed})
            committed = time.monotonic()
            # Guests keep asking while chat is off: until one was asked and answered in it (on a loaded
            # machine a fixed pause could pass with no request inside), at most a second.
            while time.monotonic() < committed + 1 and not any(a >= committed for a, _, _ in grants[-50:]):
                time.sleep(0.005)
            time.sleep(0.01)
            turning_on = time.monotonic()
            services.stream_chat_settings_update(stream=Stream.objects.get(user=creator), **{field: opened})
            off_windows.append((committed, turning_on))
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert errors == []

    inside = [
        granted
        for asked, answered, granted in grants
        if any(off <= asked and answered <= on for off, on in off_windows)
    ]
    assert len(inside) >= TOGGLES  # the race was run: tokens were asked for while chat was off
    assert sum(inside) == 0, f"{sum(inside)} of {len(inside)} tokens granted chat after chat-off committed"
