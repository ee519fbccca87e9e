"""One error path for the whole API: statuses from domain errors, and every body {"detail": "…"}."""

import json

import pytest
from rest_framework.test import APIClient

from streamit.api_errors import error_body
from streams import livekit as lk


@pytest.fixture
def alice(livekit, creator):
    client = APIClient()
    client.force_authenticate(creator)
    return client


def test_field_errors_give_one_detail_and_a_fields_map(alice):
    response = alice.put("/api/stream/info", {"title": "x" * 141}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "fields"}
    assert body["fields"] == {"title": "Ensure this field has no more than 140 characters."}
    assert body["detail"] == "title: Ensure this field has no more than 140 characters."


def test_a_general_validation_error_is_a_string_not_a_list(client):
    response = APIClient().post("/api/viewer/token", {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"detail": "Give the stream's hostId or username."}


def test_a_domain_refusal_gets_its_status_and_message(alice):
    response = alice.delete("/api/stream/ingress")

    assert response.status_code == 404
    assert response.json() == {"detail": "You have no stream key."}


def test_an_account_refusal_gets_its_status_and_message(viewer, creator):
    client = APIClient()
    client.force_authenticate(viewer)
    assert client.post("/api/users/alice/follow").status_code == 201

    response = client.post("/api/users/alice/follow")

    assert response.status_code == 409
    assert response.json() == {"detail": "You already follow alice."}


def test_livekit_down_is_503_in_the_same_shape(alice, livekit):
    livekit.set_fault("*", "down")

    response = alice.post("/api/stream/ingress", {"ingressType": "RTMP"}, format="json")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The video server is unavailable right now; nothing was changed. Try again in a minute."
    }


def test_signed_in_without_the_right_is_403_not_401(viewer):
    client = APIClient()
    client.force_authenticate(viewer)

    response = client.get("/api/stream/status")

    assert response.status_code == 403
    assert "/accounts/creator/" in response.json()["detail"]


def test_the_pages_show_the_apis_words_for_the_same_refusal(client, creator, livekit):
    client.force_login(creator)
    livekit.set_fault("*", "down")

    response = client.post("/dashboard/keys/generate", {"ingress_type": "RTMP"}, follow=True)

    assert "The video server is unavailable right now; nothing was changed." in response.content.decode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("Not found.", {"detail": "Not found."}),
        (["a", "b"], {"detail": "a b"}),
        ({"detail": ["one"]}, {"detail": "one"}),
        ({"non_field_errors": ["both given"]}, {"detail": "both given"}),
        (
            {"user": {"name": ["too long"]}, "tags": [{"x": ["bad"]}]},
            {
                "detail": "user.name: too long; tags.0.x: bad",
                "fields": {"user.name": "too long", "tags.0.x": "bad"},
            },
        ),
    ],
)
def test_error_bodies_are_flattened(data, expected):
    assert error_body(data) == expected


def test_livekit_refusal_is_told_apart_from_an_outage():
    from streamit.api_errors import LIVEKIT_REFUSED, as_domain_error

    refusal = as_domain_error(lk.LiveKitError(lk.REJECTED, "bad key"))
    assert (refusal.status, refusal.message) == (503, LIVEKIT_REFUSED)


@pytest.mark.parametrize("path", ["/api/nothing", "/api/viewer/stream/alice/status/extra"])
def test_an_unknown_api_url_is_404_in_the_same_shape(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_still_the_sites_404_page(client, db):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_a_crash_under_the_api_is_a_500_in_the_same_shape(rf):
    from streamit import api_errors

    response = api_errors.server_error(rf.get("/api/viewer/live"))

    assert response.status_code == 500
    assert set(json.loads(response.content)) == {"detail"}


def test_a_refusal_may_add_fields_beside_detail_and_a_retry_after():
    from streamit.api_errors import exception_handler
    from streamit.errors import TOO_MANY, DomainError

    response = exception_handler(
        DomainError("Slow down.", TOO_MANY, extra={"reason": "flood"}, retry_after=7), {}
    )

    assert response.status_code == 429
    assert response.data == {"detail": "Slow down.", "reason": "flood"}
    assert response["Retry-After"] == "7"
