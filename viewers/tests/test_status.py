"""The status endpoint's plain path (visitors not signed in) answers exactly as its DRF path does."""

import pytest
import yaml
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from viewers.api import ViewerStreamStatusApi

STATUS = "/api/viewer/stream/{}/status"


@pytest.fixture
def drf_only(monkeypatch):
    """Turns the plain path off: every request through DRF, as before it existed."""

    def switch():
        monkeypatch.setattr(ViewerStreamStatusApi, "dispatch", APIView.dispatch)

    return switch


def answer(client, username, **headers):
    response = client.get(STATUS.format(username), headers=headers)
    return response.status_code, response.content, dict(response.headers)


@pytest.mark.parametrize("renderers", ["development", "production"])
@pytest.mark.parametrize("username", ["alice", "ALICE", "nobody", "bob"])
@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/json, text/plain, */*", "application/json; indent=4"],
)
def test_body_status_and_headers_are_drfs(
    client, creator, viewer, drf_only, monkeypatch, renderers, username, accept
):
    # Catches: a plain path that drifts from DRF's answer (a header lost, another JSON layout or body).
    if renderers == "production":  # JSON only: DRF then sends no "Vary: Accept"
        monkeypatch.setattr(ViewerStreamStatusApi, "renderer_classes", [JSONRenderer])
    creator.stream.is_live, creator.stream.viewer_count = True, 7
    creator.stream.save()
    headers = {"Accept": accept} if accept else {}
    plain = answer(client, username, **headers)
    drf_only()
    assert answer(client, username, **headers) == plain
    assert plain[0] in (200, 404)
    if plain[0] == 404 and accept is None:
        assert plain[1] == b'{"detail":"No such stream."}'


def test_a_browser_asking_for_html_still_gets_drfs_page_in_development(client, creator):
    response = client.get(STATUS.format("alice"), headers={"Accept": "text/html,*/*;q=0.8"})
    assert response["Content-Type"].startswith("text/html")


def test_the_plain_path_serves_guests_without_drf(client, creator, monkeypatch):
    # Catches: losing the plain path (every poll through DRF's request, negotiation and serializer).
    def refuse(*args, **kwargs):
        raise AssertionError("DRF's dispatch ran")

    monkeypatch.setattr(APIView, "dispatch", refuse)
    assert client.get(STATUS.format("alice")).json() == {"isLive": False, "viewerCount": 0}


def test_signed_in_visitors_and_other_methods_take_the_drf_path(client, creator, viewer):
    client.force_login(viewer)
    assert client.get(STATUS.format("alice")).json() == {"isLive": False, "viewerCount": 0}
    assert client.post(STATUS.format("alice")).status_code in (403, 405)
    client.logout()
    assert client.options(STATUS.format("alice")).json()["name"]  # DRF's metadata answer
    assert client.get(STATUS.format("alice") + "?format=json").json()["isLive"] is False


def test_the_schema_is_the_drf_views(client, db):
    # Catches: the plain path's documentation leaking into the schema (a docstring becomes its description).
    operation = yaml.safe_load(client.get("/api/schema/").content)["paths"][
        "/api/viewer/stream/{username}/status"
    ]["get"]
    assert operation["operationId"] == "viewer_stream_status"
    assert "description" not in operation
    assert set(operation["responses"]) == {"200", "404"}
    output = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    assert components[output.rsplit("/", 1)[1]]["properties"] == {
        "isLive": {"type": "boolean"},
        "viewerCount": {"type": "integer"},
    }
