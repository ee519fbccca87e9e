"""JSON where JSON is meant, and a cap on every request body (issue 14, item 4)."""

import io
import json

import pytest
from django.test import Client
from PIL import Image

from conftest import PASSWORD
from streamit.middleware import MULTIPART_OVERHEAD
from streams.models import Stream

pytestmark = pytest.mark.django_db

TOKEN = "/api/viewer/token"


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: about side × side × 3 bytes."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), bytes((i * 7919) % 251 for i in range(side * side * 3))).save(
        buffer, "PNG", compress_level=0
    )
    return buffer.getvalue()


def test_the_anonymous_token_endpoint_refuses_a_huge_multipart_body_unread(client, creator, settings):
    settings.REQUEST_MAX_BYTES = 1024 * 1024
    blob = io.BytesIO(b"x" * (3 * 1024 * 1024))
    blob.name = "junk.bin"
    response = client.post(TOKEN, {"hostId": creator.pk, "junk": blob})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than" in response.json()["detail"]


def test_a_json_body_over_the_cap_is_413_json(client, creator, settings):
    settings.REQUEST_MAX_BYTES = 4096
    body = json.dumps({"hostId": creator.pk, "guestName": "x" * 5000})
    response = client.post(TOKEN, body, content_type="application/json")
    assert response.status_code == 413
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("url", "who"),
    [(TOKEN, None), ("/api/stream/create", "creator"), ("/api/stream/ingress", "creator")],
)
def test_api_endpoints_take_json_only(client, livekit, creator, viewer, url, who):
    if who:
        client.force_login({"creator": creator, "viewer": viewer}[who])
    form = client.post(url, {"hostId": creator.pk, "title": "T"})  # multipart, as a browser form sends
    assert form.status_code == 415
    assert "Unsupported media type" in form.json()["detail"]
    urlencoded = client.post(url, f"hostId={creator.pk}", content_type="application/x-www-form-urlencoded")
    assert urlencoded.status_code == 415


def test_the_token_endpoint_still_answers_json(client, livekit, creator):
    response = client.post(TOKEN, {"hostId": creator.pk}, content_type="application/json")
    assert response.status_code == 200 and response.json()["token"]


def test_a_page_post_over_the_cap_is_413_without_reading_it(settings, viewer):
    settings.REQUEST_MAX_BYTES = 2048
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD, "pad": "x" * 5000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")


def test_a_thumbnail_over_the_general_cap_but_within_its_own_is_accepted(
    settings, livekit, creator, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.REQUEST_MAX_BYTES = 64 * 1024
    data = noise_png(300)  # ~270 KB: over the general cap, under THUMBNAIL_MAX_BYTES
    assert settings.REQUEST_MAX_BYTES < len(data) < settings.THUMBNAIL_MAX_BYTES
    client = Client()
    client.force_login(creator)
    upload = io.BytesIO(data)
    upload.name = "big.png"
    assert (
        client.put(
            "/api/stream/info",
            client._encode_data({"thumbnail": upload}, "multipart/form-data; boundary=BoUnDaRy"),
            content_type="multipart/form-data; boundary=BoUnDaRy",
        ).status_code
        == 200
    )
    upload.seek(0)
    page = client.post("/dashboard/", {"info-title": "T", "info-description": "", "info-thumbnail": upload})
    assert page.status_code == 302
    assert Stream.objects.get(user=creator).thumbnail


def test_an_upload_over_the_thumbnail_cap_is_refused(settings, creator):
    settings.THUMBNAIL_MAX_BYTES = 100 * 1024
    settings.REQUEST_MAX_BYTES = 10 * 1024
    client = Client()
    client.force_login(creator)
    upload = io.BytesIO(b"\0" * (100 * 1024 + MULTIPART_OVERHEAD + 1))
    upload.name = "big.png"
    response = client.post(
        "/dashboard/", {"info-title": "T", "info-description": "", "info-thumbnail": upload}
    )
    assert response.status_code == 413
