"""The token endpoint's hot path (viewers.token_fast) keeps DRF's contract to the letter.

Each request is sent twice, once the hot path's way and once with it switched off (DRF's full path), and
the two answers must be the same; the reader of the body may accept only what DRF's serializer accepts
with the same meaning (a property test over arbitrary bodies).
"""

import io
import json

import pytest
from django.conf import settings
from django.core.cache import cache
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from livekit import api as lk_api
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.models import Block
from conftest import _redis_url
from streamit.cache import caches_for
from viewers import token_fast
from viewers.api import ViewerTokenApi

URL = "/api/viewer/token"
SAME_HEADERS = ("Content-Type", "Allow", "Vary", "Retry-After", "WWW-Authenticate")


@pytest.fixture(params=["locmem", pytest.param("redis", marks=pytest.mark.redis)])
def any_cache(request, settings):
    """Both caches the path runs on: locmem (development) and Redis (production: one round trip)."""
    if request.param == "redis":
        settings.CACHES = caches_for(_redis_url(), socket_timeout=1.0)
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def drf_only(monkeypatch):
    """Run a request through DRF's full path (the hot path declines every request)."""

    def switch_off():
        monkeypatch.setattr(token_fast, "read", lambda request: None)

    return switch_off


@pytest.fixture
def drf_calls(monkeypatch):
    """How many requests DRF's own dispatch handled."""
    calls = []
    original = APIView.initial

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "initial", counting)
    return calls


def post(client, body, **extra):
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.generic(
        "POST", URL, raw, content_type=extra.pop("content_type", "application/json"), **extra
    )


def comparable(response) -> dict:
    # Not JSON: DRF's browsable page (DEBUG) or a 406; the headers and status say which.
    body = response.json() if response["Content-Type"] == "application/json" else None
    if isinstance(body, dict) and "token" in body:
        verifier = lk_api.TokenVerifier(settings.LIVEKIT_API_KEY, settings.LIVEKIT_API_SECRET)
        claims = verifier.verify(body.pop("token"))
        body["grants"] = (
            claims.name,
            claims.video.room,
            claims.video.can_publish_data,
            claims.video.can_publish,
        )
        body["identity"] = body["identity"].split("-")[0]  # a guest's identity is new each time
    headers = {name: response.get(name) for name in SAME_HEADERS}
    return {"status": response.status_code, "body": body, "headers": headers}


CASES = [
    ("guest by name", None, {"username": "alice", "guestName": "Zed"}),
    ("guest by id", None, "hostId"),
    ("guest, name in another case, no guest name", None, {"username": "ALICE"}),
    ("unknown name", None, {"username": "nobody"}),
    ("unknown id", None, {"hostId": 99999}),
    ("signed-in viewer", "viewer", {"username": "alice"}),
    ("the creator's self-view", "creator", {"username": "alice"}),
    ("a viewer the creator blocked", "blocked", {"username": "alice"}),
]


@pytest.mark.parametrize(("case", "who", "body"), CASES, ids=[case[0] for case in CASES])
def test_the_hot_path_answers_as_drf_does(case, who, body, creator, viewer, drf_only, drf_calls):
    body = {"hostId": creator.pk} if body == "hostId" else body
    user = {"viewer": viewer, "creator": creator, "blocked": viewer, None: None}[who]
    if who == "blocked":
        Block.objects.create(blocker=creator, blocked=viewer)
    client = APIClient()
    if user is not None:
        client.force_login(user)
    fast = post(client, body)
    assert drf_calls == []  # answered without DRF's dispatch
    drf_only()
    assert comparable(fast) == comparable(post(client, body))
    assert drf_calls == [URL]


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({"body": {"username": " alice"}}, id="space to trim"),
        pytest.param({"body": {"username": "alice", "guestName": None}}, id="null guest name"),
        pytest.param({"body": {"username": "alice", "hostId": None}}, id="null id beside a name"),
        pytest.param({"body": {"hostId": "1"}}, id="id as a string"),
        pytest.param({"body": {"hostId": True}}, id="id as a boolean"),
        pytest.param({"body": {"username": "alice", "extra": [1]}}, id="an unknown field"),
        pytest.param({"body": {}}, id="neither id nor name"),
        pytest.param({"body": "[1, 2]"}, id="not an object"),
        pytest.param({"body": '{"username": NaN}'}, id="NaN"),
        pytest.param({"body": "[" * 5000}, id="nested too deep"),
        pytest.param({"body": {"username": "alice"}, "content_type": "text/plain"}, id="not JSON"),
        pytest.param({"body": {"username": "alice"}, "HTTP_ACCEPT": "text/html"}, id="accepts no JSON"),
        pytest.param(
            {"body": {"username": "alice"}, "HTTP_ACCEPT": "text/html, application/json"}, id="HTML first"
        ),
        pytest.param({"body": {"username": "a\ud800"}}, id="a lone surrogate"),
    ],
)
def test_anything_unusual_goes_to_drf_with_the_same_answer(request_, creator, drf_only, drf_calls, any_cache):
    request_ = dict(request_)
    body = request_.pop("body")
    fast = post(APIClient(), body, **request_)
    assert drf_calls == [URL]
    drf_only()
    assert comparable(fast) == comparable(post(APIClient(), body, **request_))


def test_a_signed_in_post_without_the_csrf_token_is_refused_as_drf_refuses_it(creator, viewer, drf_calls):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = post(client, {"username": "alice"})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert drf_calls == [URL]


def test_the_hot_path_knows_every_authenticator_of_the_endpoint():
    from streamit.authentication import SessionAuthentication

    assert [type(a) for a in ViewerTokenApi().get_authenticators()] == [SessionAuthentication]


def test_each_request_is_counted_once_whichever_path_answers_it(creator, monkeypatch, any_cache):
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "token_ip": "3/min"}
    )
    client = APIClient()
    # The hot path's 404 and 200 count once each; the refusal goes through DRF and counts nothing more.
    statuses = [
        post(client, body).status_code
        for body in ({"username": "nobody"}, {"username": "alice"}, {"username": "nobody"})
    ]
    assert statuses == [404, 200, 404]
    refused = post(client, {"username": "alice"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60


# --- The body reader accepts only what DRF's serializer accepts, with the same meaning -------------------

_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["alice", " alice", "alice ", "\x00", "a\ud800", "", " ", "x" * 151, "y" * 1001, "\u3000b"]
    ),
)
_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**40),
    st.floats(),
    _text,
    st.lists(st.integers(), max_size=2),
)
_body = st.dictionaries(st.sampled_from(["hostId", "username", "guestName", "other"]), _value, max_size=4)


_encoded = st.one_of(
    st.builds(lambda body: json.dumps(body, allow_nan=True).encode(), _body),
    st.builds(lambda body: json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass"), _body),
    st.builds(lambda body: json.dumps(body).encode("utf-16"), _body),  # json.loads(bytes) would read it
    st.builds(lambda body: b"\xef\xbb\xbf" + json.dumps(body).encode(), _body),  # a BOM
    st.binary(max_size=40),
)


def drf_reading(raw: bytes):
    """What DRF's path makes of the body: the serializer's data, or None when it answers an error."""
    from streamit.parsers import JSONParser

    try:
        body = JSONParser().parse(io.BytesIO(raw), "application/json", {"encoding": "utf-8"})
    except Exception:  # noqa: BLE001 - DRF's ParseError: a 400
        return None
    serializer = ViewerTokenApi.InputSerializer(data=body)
    return serializer.validated_data if serializer.is_valid() else None


@hypothesis_settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=_encoded)
def test_the_reader_agrees_with_the_serializer(raw):
    ask = token_fast.read(APIRequestFactory().post(URL, raw, content_type="application/json"))
    if ask is None:
        return  # DRF's full path answers it
    data = drf_reading(raw)
    assert data is not None, "the hot path took a body DRF refuses"
    if "hostId" in data:
        assert (ask.host_id, ask.username) == (data["hostId"], None)
    else:
        assert (ask.host_id, ask.username) == (None, data["username"])
    assert ask.guest_name == data.get("guestName", "")


def test_the_schema_still_documents_the_endpoint(client, db):
    import yaml

    operation = yaml.safe_load(client.get("/api/schema/").content)["paths"]["/api/viewer/token"]["post"]
    assert operation["operationId"] == "viewer_token"
    assert set(operation["responses"]) == {"200", "400", "404", "429"}
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[
        1
    ]
    components = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    assert set(components[request_schema]["properties"]) == {"hostId", "username", "guestName"}
