"""No stream key and no API secret leaks: a crawler visits the site as every kind of user.

It follows every link it finds from the home page, the dashboard and the admin, and calls every GET
endpoint of the OpenAPI schema, then asserts the key appears only in the owner's credentials endpoint and
keys page, and the API secret nowhere; the same over everything logged meanwhile.
"""

import logging
import re
from collections import deque
from urllib.parse import urljoin, urlparse

import pytest
import yaml
from django.conf import settings
from django.test import Client
from rest_framework import serializers

from accounts.models import Block, Follow
from conftest import make_creator, make_user
from streams.models import Stream
from viewers import api as viewer_api

ALLOWED_FOR_OWNER = {"/api/stream/credentials", "/dashboard/keys/"}
SKIP = re.compile(r"^/(accounts/logout|admin/logout|static/|media/)|/(delete|history)/$")
HREF = re.compile(r'href="([^"#]+)"')


def crawl(client: Client, starts: list[str], limit: int = 250) -> dict[str, str]:
    """Every same-site page reachable from ``starts`` (GET only), with its body."""
    seen: dict[str, str] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        url = queue.popleft()
        path = urlparse(url).path + (f"?{urlparse(url).query}" if urlparse(url).query else "")
        if path in seen or SKIP.search(urlparse(url).path):
            continue
        response = client.get(path)
        body = response.content.decode(errors="replace")
        seen[path] = body
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            for href in HREF.findall(body):
                target = urljoin(path, href.replace("&amp;", "&"))
                if urlparse(target).netloc in ("", "testserver"):
                    queue.append(target)
    return seen


def schema_get_paths(client: Client, username: str) -> list[str]:
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = []
    for path, item in schema["paths"].items():
        if "get" in item:
            paths.append(re.sub(r"\{[^}]+\}", username, path) + ("?q=a" if path == "/api/search" else ""))
    return paths


def leaks(bodies: dict[str, str], secrets: list[str], allowed: set[str]) -> list[str]:
    return [
        f"{secret[:4]}… in {path}"
        for path, body in bodies.items()
        for secret in secrets
        if secret and secret in body and urlparse(path).path not in allowed
    ]


@pytest.fixture
def site(livekit, creator, viewer, staff):
    """alice live with a key, a reset key left over, followers, a block, and webhook events logged."""
    owner = Client()
    owner.force_login(creator)
    owner.post(
        "/api/stream/create", {"title": "Chess", "ingressType": "RTMP"}, content_type="application/json"
    )
    first_key = Stream.objects.get(user=creator).stream_key
    owner.post("/api/stream/ingress", {"ingressType": "WHIP"}, content_type="application/json")
    stream = Stream.objects.get(user=creator)
    livekit.site_url = None
    Follow.objects.create(follower=viewer, following=creator)
    Block.objects.create(blocker=creator, blocked=make_user("mallory"))
    # A delivery through the receiver, so the admin's event log has an ingress event to show.
    body, auth = livekit.build_webhook("ingress_started", ingress=livekit.ingresses[stream.ingress_id])
    owner.post("/api/webhook/livekit", body, content_type="application/webhook+json", HTTP_AUTHORIZATION=auth)
    return {"keys": [stream.stream_key, first_key, stream.ingress_id], "owner": owner}


def visitors(creator, viewer, staff):
    other = make_creator("erin")
    clients = {}
    for name, user in [("anonymous", None), ("viewer", viewer), ("other creator", other), ("staff", staff)]:
        client = Client()
        if user is not None:
            client.force_login(user)
        clients[name] = client
    return clients


def test_no_key_or_secret_leaks_to_anyone_but_the_owner(site, creator, viewer, staff, caplog):
    caplog.set_level(logging.DEBUG)
    key, old_key, ingress_id = site["keys"]
    secrets = [key, old_key, settings.LIVEKIT_API_SECRET]
    starts = ["/", "/alice/", "/alice/live", "/dashboard/", "/search?q=chess"]
    total = 0
    for name, client in visitors(creator, viewer, staff).items():
        admin_starts = (
            ["/admin/", "/admin/streams/stream/", "/admin/webhooks/webhookevent/"] if name == "staff" else []
        )
        bodies = crawl(client, starts + admin_starts + schema_get_paths(client, "alice"))
        total += len(bodies)
        assert leaks(bodies, secrets, allowed=set()) == [], name

    owner_bodies = crawl(
        site["owner"], [*starts, "/dashboard/keys/", *schema_get_paths(site["owner"], "alice")]
    )
    assert key in owner_bodies["/dashboard/keys/"] and key in owner_bodies["/api/stream/credentials"]
    assert leaks(owner_bodies, secrets, allowed=ALLOWED_FOR_OWNER) == []
    assert old_key not in "".join(owner_bodies.values())  # a replaced key is gone everywhere

    assert total > 60, f"the crawl saw only {total} pages: it would miss leaks"
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    for secret in secrets:
        assert secret not in logged


def test_the_crawler_catches_a_serializer_that_leaks_the_key(site, creator, viewer, monkeypatch):
    """Proof the check can fail: a throwaway field adds the key to the public stream info."""
    leaky = type(
        "LeakyStreamInfo",
        (viewer_api.StreamInfoSerializer,),
        {"streamKey": serializers.CharField(source="stream_key")},
    )
    monkeypatch.setattr(viewer_api, "StreamInfoSerializer", leaky)
    client = Client()
    bodies = crawl(client, ["/api/viewer/stream/alice"])
    assert leaks(bodies, [site["keys"][0]], allowed=set()) == [
        f"{site['keys'][0][:4]}… in /api/viewer/stream/alice"
    ]
