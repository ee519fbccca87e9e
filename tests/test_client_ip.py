"""One client IP for every limit: the API throttles, the form limits and the log-in lockout agree."""

import pytest
from rest_framework.throttling import SimpleRateThrottle

from streamit.client_ip import client_ip

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_token_a_minute(monkeypatch):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "token_ip": "1/min"}
    )


def ask(client, forwarded_for: str):
    return client.post(
        "/api/viewer/token",
        {"username": "alice"},
        content_type="application/json",
        REMOTE_ADDR="10.0.0.1",  # the proxy
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_the_api_throttle_follows_trusted_proxy_count_alone(client, creator, settings, one_token_a_minute):
    settings.TRUSTED_PROXY_COUNT = 1  # the only setting an operator changes: nothing else to keep in step

    assert ask(client, "198.51.100.7").status_code == 200
    assert ask(client, "198.51.100.7").status_code == 429
    # Another client behind the same proxy has its own count.
    assert ask(client, "198.51.100.8").status_code == 200


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(
    client, creator, settings, one_token_a_minute
):
    settings.TRUSTED_PROXY_COUNT = 0

    assert ask(client, "198.51.100.7").status_code == 200
    assert ask(client, "198.51.100.8").status_code == 429


def test_the_throttle_and_the_lockout_see_the_same_address(rf, settings):
    from axes.helpers import get_client_ip_address

    from streamit.throttles import TokenIPThrottle

    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.1, 198.51.100.7, 10.0.0.2")

    assert client_ip(request) == "198.51.100.7"
    assert TokenIPThrottle().get_ident(request) == client_ip(request)
    assert get_client_ip_address(request) == client_ip(request)
