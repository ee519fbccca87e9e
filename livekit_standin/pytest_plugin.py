"""The ``livekit`` fixture: a stand-in LiveKit server on a free loopback port, reset for every test.

The server starts once per test session; each test gets it with empty state, no faults and no webhook
target, and with Django's LIVEKIT_* settings pointing at it (with a secret long enough for HS256).
"""

import pytest

from .server import StandIn

API_KEY = "APIstandin"
API_SECRET = "standin-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="session")
def livekit_server():
    server = StandIn(api_key=API_KEY, api_secret=API_SECRET).start()
    yield server
    server.close()


@pytest.fixture
def livekit(livekit_server, settings):
    livekit_server.reset()
    livekit_server.start()  # a test may have stopped it
    settings.LIVEKIT_URL = livekit_server.ws_url
    settings.LIVEKIT_API_KEY = API_KEY
    settings.LIVEKIT_API_SECRET = API_SECRET
    yield livekit_server
    livekit_server.flush()
    livekit_server.start()
    livekit_server.reset()
