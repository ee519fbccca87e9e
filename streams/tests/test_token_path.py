"""The lean token path on Redis, as deployed: what one token request costs in queries and round trips.

Round trips are counted where redis-py writes to the socket (one write per command, one per pipeline),
so a test fails when a change adds a trip, whatever it times.
"""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from conftest import _redis_url
from streamit.cache import caches_for

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def redis_cache(settings):
    settings.CACHES = caches_for(_redis_url(), socket_timeout=1.0)
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def round_trips(monkeypatch):
    """Each write of a packed command (or pipeline) to Redis, as the list of its commands' names."""
    from redis.connection import AbstractConnection

    sent: list[list[str]] = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        packed = b"".join(command) if isinstance(command, list | tuple) else command
        lines = packed.split(b"\r\n")
        # RESP: each command is "*<argc>", "$<len>", its name, ...
        sent.append(
            [lines[i + 2].decode().upper() for i, line in enumerate(lines[:-2]) if line.startswith(b"*")]
        )
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


@pytest.fixture
def rates(monkeypatch):
    def set_rates(**rates):
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates}
        )

    return set_rates


def ask(client, ip="10.0.0.1", **body):
    return client.post("/api/viewer/token", body or {"username": "alice"}, format="json", REMOTE_ADDR=ip)


def test_the_ip_limit_holds_with_drfs_retry_after(creator, rates):
    rates(token_ip="3/min")
    client = APIClient()
    statuses = [ask(client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = ask(client)
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "detail" in refused.json()
    assert ask(client, ip="10.0.0.2").status_code == 200  # another address, its own window


def test_the_user_limit_holds_across_addresses(creator, viewer, rates):
    rates(token_user="2/min")
    client = APIClient()
    client.force_authenticate(viewer)
    assert [ask(client, ip=f"10.0.0.{n}").status_code for n in range(1, 4)] == [200, 200, 429]
    assert ask(APIClient(), ip="10.0.0.9").status_code == 200  # a guest is not counted as that user


def test_a_request_both_limits_refuse_waits_for_the_longer(creator, viewer, rates):
    rates(token_ip="1/min", token_user="1/hour")
    client = APIClient()
    client.force_authenticate(viewer)
    assert ask(client).status_code == 200
    refused = ask(client)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 60


def test_a_guest_token_costs_one_round_trip_for_both_limits(creator, viewer, round_trips):
    client = APIClient()
    client.force_authenticate(viewer)
    assert ask(client).status_code == 200  # loads the script, fills the host cache
    round_trips.clear()
    assert ask(client).status_code == 200
    assert len([trip for trip in round_trips if "EVALSHA" in trip]) == 1
