"""2 KB of nested brackets is a malformed body like any other: 400 on every JSON endpoint, never a 500."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

NESTED = b"[" * 2048 + b"]" * 2048


def api_paths() -> list[str]:
    """Every route under /api/ (except the webhook receiver, which reads its signed body raw)."""
    paths = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/") and "webhook" not in route:
                paths.append("/" + route.replace("<str:username>", "alice"))

    walk(get_resolver().url_patterns, "")
    return paths


def test_every_api_route_is_found():
    assert "/api/viewer/token" in api_paths()
    assert "/api/stream/chat-settings" in api_paths()


def test_nested_brackets_get_400_on_every_json_endpoint(client, creator):
    client.force_login(creator)
    refused = set()
    for method in ("post", "put", "patch"):
        for path in api_paths():
            response = getattr(client, method)(path, NESTED, content_type="application/json")
            assert response.status_code != 500, (method, path)
            if response.status_code == 400 and "nested too deeply" in response.json()["detail"]:
                refused.add((method, path))
    # The parser ran where a body is read: the test does not pass on 405s alone.
    assert {
        ("post", "/api/viewer/token"),
        ("put", "/api/stream/chat-settings"),
        ("put", "/api/stream/info"),
    } <= refused
