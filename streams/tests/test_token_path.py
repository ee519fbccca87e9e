"""The lean token path on Redis, as deployed: what one token request costs in queries and round trips.

Round trips are counted where redis-py writes to the socket (one write per command, one per pipeline),
so a test fails when a change adds a trip, whatever it times.
"""

import hashlib

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from conftest import _redis_url
from streamit import redis_scripts, throttles
from streamit.cache import caches_for
from streams import selectors

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


@pytest.fixture(autouse=True)
def redis_cache(settings):
    settings.CACHES = caches_for(_redis_url(), socket_timeout=1.0)
    cache.clear()
    yield
    cache.clear()


SCRIPTS = {
    hashlib.sha1(redis_scripts.source(fragments).encode()).hexdigest(): name
    for fragments, name in [
        ([throttles.SLIDING_WINDOWS], "throttles"),
        ([selectors.READ_HOST], "host"),
        ([selectors.READ_HOST, throttles.SLIDING_WINDOWS], "host+throttles"),
        ([selectors.STORE_NAMED], "store host"),
    ]
}


@pytest.fixture
def round_trips(monkeypatch):
    """Each write of a packed command (or pipeline) to Redis, as the list of its commands' names."""
    from redis.connection import AbstractConnection

    sent: list[list[str]] = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        packed = b"".join(command) if isinstance(command, list | tuple) else command
        lines = packed.split(b"\r\n")
        # RESP: each command is "*<argc>", "$<len>", its name, ...; a script call is named by its script.
        starts = [i for i, line in enumerate(lines[:-2]) if line.startswith(b"*")]
        names = [lines[i + 2].decode().upper() for i in starts]
        sent.append(
            [
                SCRIPTS.get(lines[i + 4].decode(), name) if name == "EVALSHA" else name
                for i, name in zip(starts, names, strict=True)
            ]
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
    client.force_login(viewer)
    assert [ask(client, ip=f"10.0.0.{n}").status_code for n in range(1, 4)] == [200, 200, 429]
    assert ask(APIClient(), ip="10.0.0.9").status_code == 200  # a guest is not counted as that user


def test_a_request_both_limits_refuse_waits_for_the_longer(creator, viewer, rates):
    rates(token_ip="1/min", token_user="1/hour")
    client = APIClient()
    client.force_login(viewer)
    assert ask(client).status_code == 200
    refused = ask(client)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 60


def test_a_warm_token_is_one_round_trip_for_both_limits_and_the_host(creator, viewer, round_trips):
    client = APIClient()
    client.force_login(viewer)
    assert ask(client).status_code == 200  # loads the script, fills the host cache
    round_trips.clear()
    assert ask(client).status_code == 200
    assert round_trips == [["host+throttles"]]


@pytest.mark.parametrize("body", [{"username": "Alice"}, "hostId"])
def test_a_warm_token_is_one_host_read_and_no_query(
    creator, viewer, body, round_trips, django_assert_max_num_queries
):
    body = {"hostId": creator.pk} if body == "hostId" else body
    client = APIClient()
    assert ask(client, **body).status_code == 200  # caches the host (and the name leading to it)
    round_trips.clear()
    with django_assert_max_num_queries(0):
        assert ask(client, **body).status_code == 200
    # Both throttles and the host (name, copy and generation) read by one script.
    assert round_trips == [["host+throttles"]]


def test_a_cold_token_is_one_query_and_one_write(creator, round_trips, django_assert_max_num_queries):
    client = APIClient()

    def one_request(expected_trips):
        round_trips.clear()
        with django_assert_max_num_queries(1):
            assert ask(client).status_code == 200
        assert round_trips == expected_trips

    # Nothing cached: the reads, one query, then the name, the generation and the copy in one write.
    one_request([["host+throttles"], ["store host"]])
    one_request([["host+throttles"]])
    with django_assert_max_num_queries(0):
        ask(client)
    # The copy evicted: read, query, the copy written under the generation read before the row.
    cache.delete(f"host:{creator.pk}")
    one_request([["host+throttles"], ["SET"]])
    # The name expired but the generation lives on: the name is stored, the copy waits for the next
    # request (which reads the generation before the row), then all is warm again.
    cache.delete_many(["host-id:alice", f"host:{creator.pk}"])
    one_request([["host+throttles"], ["store host"]])
    one_request([["host+throttles"], ["SET"]])
    with django_assert_max_num_queries(0):
        ask(client)


def test_a_signed_in_token_adds_one_query_for_follow_and_block(
    creator, viewer, round_trips, django_assert_num_queries
):
    client = APIClient()
    client.force_login(viewer)  # a real session: the path reads it as production does
    ask(client)
    round_trips.clear()
    # Django's session and user (the same on every signed-in request), then follow and block at once.
    with django_assert_num_queries(3) as queries:
        assert ask(client).status_code == 200
    assert ["django_session" in q["sql"] for q in queries.captured_queries] == [True, False, False]
    assert round_trips == [["host+throttles"]]


def test_an_unknown_name_is_404_and_caches_nothing(creator, round_trips):
    assert ask(APIClient(), username="nobody").status_code == 404
    assert round_trips == [["host+throttles"]]


def test_the_body_has_exactly_the_documented_fields(creator):
    from viewers.api import ViewerTokenApi

    body = ask(APIClient()).json()
    assert (
        set(body) == set(ViewerTokenApi.OutputSerializer().fields) == {"token", "identity", "name", "wsUrl"}
    )
    assert all(isinstance(value, str) and value for value in body.values())
