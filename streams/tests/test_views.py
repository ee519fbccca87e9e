"""The dashboard pages through Django's test client, as a creator uses them (no JavaScript)."""

import io

import pytest
from PIL import Image

from streams.models import Stream


def png(size=(64, 36)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "thumb.png"
    return buffer


@pytest.fixture
def alice(client, livekit, creator):
    client.force_login(creator)
    return client


def stream_of(user) -> Stream:
    return Stream.objects.get(user=user)


def test_generate_reveal_reset_and_delete_a_key(alice, livekit, creator):
    page = alice.get("/dashboard/keys/").content.decode()
    assert "Generate a stream key" in page

    response = alice.post("/dashboard/keys/generate", {"ingress_type": "RTMP"}, follow=True)
    stream = stream_of(creator)
    html = response.content.decode()
    assert "Your new stream key is ready." in html
    assert stream.server_url in html
    # Masked until "show": the key sits inside a closed <details> element.
    assert f'<code class="secret" id="stream-key" data-stream-key>{stream.stream_key}</code>' in html
    assert "<details data-key-reveal>" in html
    assert "Custom…" in html  # the RTMP set-up steps

    unconfirmed = alice.post("/dashboard/keys/generate", {"ingress_type": "WHIP"}, follow=True)
    assert "Tick the box to confirm." in unconfirmed.content.decode()
    assert stream_of(creator).ingress_id == stream.ingress_id

    alice.post("/dashboard/keys/generate", {"ingress_type": "WHIP", "confirm": "on"})
    reset = stream_of(creator)
    assert reset.ingress_id != stream.ingress_id and reset.ingress_type == "WHIP"
    assert set(livekit.ingresses) == {reset.ingress_id}
    assert "Bearer Token" in alice.get("/dashboard/keys/").content.decode()

    alice.post("/dashboard/keys/delete", {})
    assert stream_of(creator).ingress_id == reset.ingress_id  # not confirmed
    alice.post("/dashboard/keys/delete", {"confirm": "on"})
    assert stream_of(creator).ingress_id is None and livekit.ingresses == {}


def test_livekit_down_shows_a_clear_message_and_keeps_the_key(alice, livekit, creator):
    alice.post("/dashboard/keys/generate", {"ingress_type": "RTMP"})
    before = stream_of(creator).stream_key
    livekit.set_fault("*", "down")
    response = alice.post("/dashboard/keys/generate", {"ingress_type": "RTMP", "confirm": "on"}, follow=True)
    assert "video server is unavailable" in response.content.decode()
    assert stream_of(creator).stream_key == before


def test_update_title_and_upload_a_thumbnail(alice, creator, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = tmp_path
    response = alice.post(
        "/dashboard/",
        {"info-title": "Chess night", "info-description": "Openings", "info-thumbnail": png()},
        follow=True,
    )
    assert "Stream details saved." in response.content.decode()
    stream = stream_of(creator)
    assert stream.title == "Chess night" and stream.thumbnail.name.endswith(".png")
    # Saving again without a file keeps the thumbnail.
    alice.post("/dashboard/", {"info-title": "Chess night 2", "info-description": ""})
    assert stream_of(creator).thumbnail.name == stream.thumbnail.name


@pytest.mark.parametrize(
    ("upload", "message"),
    [(io.BytesIO(b"hello, I am text"), "Upload a valid image"), (png((5000, 10)), "at most 3840")],
)
def test_a_rejected_upload_shows_a_form_error(alice, creator, upload, message):
    upload.name = "fake.png"
    response = alice.post(
        "/dashboard/", {"info-title": "T", "info-description": "", "info-thumbnail": upload}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not stream_of(creator).thumbnail


def test_an_oversized_upload_is_refused(alice, creator, settings):
    settings.THUMBNAIL_MAX_BYTES = 50
    response = alice.post("/dashboard/", {"info-title": "T", "info-description": "", "info-thumbnail": png()})
    assert "larger than" in response.content.decode()


def test_toggle_chat_settings(alice, creator):
    alice.post("/dashboard/", {"chat-is_chat_enabled": "on", "chat-is_chat_followers_only": "on"})
    stream = stream_of(creator)
    assert (stream.is_chat_enabled, stream.is_chat_delayed, stream.is_chat_followers_only) == (
        True,
        False,
        True,
    )
    alice.post("/dashboard/", {})  # every box unticked
    stream = stream_of(creator)
    assert (stream.is_chat_enabled, stream.is_chat_delayed, stream.is_chat_followers_only) == (
        False,
        False,
        False,
    )


def test_the_dashboard_shows_status_and_the_self_view(alice, creator):
    Stream.objects.filter(user=creator).update(is_live=True, viewer_count=7)
    html = alice.get("/dashboard/").content.decode()
    assert "data-viewer-count>7<" in html
    assert 'data-token-url="/api/stream/creator-token"' in html
    assert 'data-status-url="/api/stream/status"' in html
    assert 'data-delay-seconds="0"' in html  # the creator is never held by slow mode


@pytest.mark.parametrize("who", ["viewer", "pending_creator"])
def test_non_creators_are_sent_to_apply(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/dashboard/").headers["Location"] == "/accounts/creator/"
    assert client.get("/dashboard/keys/").headers["Location"] == "/accounts/creator/"
    assert client.post("/dashboard/keys/generate", {"ingress_type": "RTMP"}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client):
    assert client.get("/dashboard/").headers["Location"].startswith("/accounts/login/")


def test_the_nav_shows_the_dashboard_only_to_approved_creators(client, creator, viewer):
    client.force_login(viewer)
    assert 'href="/dashboard/"' not in client.get("/").content.decode()
    client.force_login(creator)
    assert 'href="/dashboard/"' in client.get("/").content.decode()


def test_the_keys_page_is_never_cached(alice, creator):
    """It shows the key, like /api/stream/credentials, which answers no-store too (issue 21, item 10)."""
    alice.post("/dashboard/keys/generate", {"ingress_type": "RTMP"})
    response = alice.get("/dashboard/keys/")
    assert stream_of(creator).stream_key in response.content.decode()
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= directives


def test_slow_mode_is_set_from_the_dashboard(alice, creator):
    alice.post("/dashboard/", {"chat-is_chat_enabled": "on", "chat-chat_slow_seconds": "15"})
    assert stream_of(creator).chat_slow_seconds == 15
    page = alice.get("/dashboard/").content.decode()
    assert 'name="chat-chat_slow_seconds"' in page
    alice.post("/dashboard/", {"chat-is_chat_enabled": "on", "chat-chat_slow_seconds": "9999"})
    assert stream_of(creator).chat_slow_seconds == 15  # over the 600 s cap: refused
