"""Schemathesis fuzzes every operation of the OpenAPI schema, signed in as a creator and as a viewer.

It runs against the live test server (with the test database and the stand-in LiveKit up), and
fails on any 5xx or any response body that breaks the schema. Throttles are raised, not removed, so
their code path runs too. Marked ``postgres``: CI runs it once, in the PostgreSQL pass.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import Follow
from conftest import make_creator, make_user

CSRF = "f" * 32


@pytest.fixture
def api_schema(live_server, transactional_db, livekit, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "100000/min")
    )
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")


def session_headers(user) -> dict:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={CSRF}", "X-CSRFToken": CSRF}


@pytest.fixture
def callers(transactional_db):
    creator = make_creator("fuzzer")
    viewer = make_user("watcher")
    Follow.objects.create(follower=viewer, following=creator)
    return {"creator": session_headers(creator), "viewer": session_headers(viewer)}


FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz(schema, headers) -> dict[str, str]:
    """Run every operation's generated cases; return the failures by operation."""
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the schema lost its operations"
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as failure:  # hypothesis re-raises the minimal failing case
            failures[operation.label] = str(failure)[:2000]
    return failures


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["creator", "viewer"])
def test_the_api_never_errors_and_keeps_to_its_schema(api_schema, callers, who):
    assert fuzz(api_schema, callers[who]) == {}
