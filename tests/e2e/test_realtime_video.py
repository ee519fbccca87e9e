"""The simulated encoder's picture on the pages, through the real livekit-client and the stand-in over
WebRTC: the watch page and the creator's self-view play it (a moving, non-black picture, the audio track
subscribed), the stream going offline stops the player without a reload, and five viewers at once all
get frames while the page counts them. Markers browser + webrtc (scripts/test-webrtc.sh)."""

import time

import pytest
from playwright.sync_api import expect

from streams import livekit as lk
from tests.e2e.conftest import log_in
from tests.e2e.test_realtime_watch import CONNECT_TIMEOUT, open_page, rtc_browser

pytestmark = pytest.mark.webrtc
__all__ = ["open_page", "rtc_browser"]  # fixtures shared with the watch page's tests

# A 64×36 thumbnail of what the <video> shows now: its mean brightness and a checksum of its pixels.
SAMPLE = """() => {
  const video = document.querySelector('[data-video]');
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 36;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0, 64, 36);
  const pixels = context.getImageData(0, 0, 64, 36).data;
  let sum = 0, checksum = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    sum += pixels[i] + pixels[i + 1] + pixels[i + 2];
    checksum = (checksum * 31 + pixels[i] + 7 * pixels[i + 1] + 13 * pixels[i + 2]) % 1000000007;
  }
  return { width: video.videoWidth, height: video.videoHeight, brightness: sum / (pixels.length / 4) / 3,
           checksum, frames: video.getVideoPlaybackQuality().totalVideoFrames };
}"""

AUDIO_SUBSCRIBED = """(hostId) => {
  const room = document.querySelector('[data-watch]').watchPage.room;
  const host = room && room.remoteParticipants.get(String(hostId));
  return Boolean(host && [...host.audioTrackPublications.values()].some((p) => p.isSubscribed && p.track));
}"""


def encoder(creator, livekit) -> str:
    """The creator's key, and OBS sending to it: the stand-in publishes the test pattern."""
    ingress = lk.ingress_create(user_id=creator.pk, username=creator.username, ingress_type="RTMP")
    stream = creator.stream
    stream.ingress_id, stream.ingress_type, stream.stream_key = ingress.ingress_id, "RTMP", ingress.stream_key
    stream.save()
    livekit.encoder_start(ingress.ingress_id)  # its signed ingress_started makes the stream live
    stream.refresh_from_db()
    assert stream.is_live
    return ingress.ingress_id


def sample(page, timeout=CONNECT_TIMEOUT / 1000):
    deadline = time.monotonic() + timeout
    while (shot := page.evaluate(SAMPLE)) is None:
        assert time.monotonic() < deadline, "no picture arrived"
        page.wait_for_timeout(100)
    return shot


def assert_playing(page):
    first = sample(page)
    assert (first["width"], first["height"]) == (640, 360)
    page.wait_for_timeout(700)
    second = sample(page)
    assert second["checksum"] != first["checksum"], "the picture does not move"
    assert second["frames"] > first["frames"]
    assert second["brightness"] > 40, "the picture is black"


def test_the_watch_page_plays_the_stream_and_goes_offline_without_a_reload(open_page, creator, livekit):
    ingress_id = encoder(creator, livekit)
    page = open_page()
    page.goto("/alice/live")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)

    assert_playing(page)
    assert page.evaluate(AUDIO_SUBSCRIBED, creator.pk)

    livekit.encoder_stop(ingress_id)
    expect(page.locator("[data-offline-card]")).to_be_visible(timeout=CONNECT_TIMEOUT)
    expect(page.locator("[data-player]")).to_be_hidden()
    assert page.locator("[data-watch]").get_attribute("data-state") == "offline"


def test_the_page_goes_offline_soon_when_the_end_reaches_the_server_after_the_room(
    open_page, creator, livekit
):
    # LiveKit's webhook can arrive after the room told the page that the encoder left: the page's first
    # question then hears "live". It must ask again soon, not wait for the connected cadence (3 polls).
    ingress_id = encoder(creator, livekit)
    page = open_page()
    page.goto("/alice/live")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)

    asked = []
    page.on("request", lambda request: "/status" in request.url and asked.append(time.monotonic()))
    livekit.webhook_mode = "hold"
    livekit.encoder_stop(ingress_id)
    page.wait_for_timeout(7_000)  # the server still says "live": the page keeps asking, every 2 s
    assert page.locator("[data-watch]").get_attribute("data-state") == "live"
    assert len(asked) >= 4, asked  # without the re-asking: 2 (the first question, then silence)
    livekit.webhook_mode = "normal"
    livekit.release_held()

    expect(page.locator("[data-offline-card]")).to_be_visible(timeout=4_000)
    assert page.locator("[data-watch]").get_attribute("data-state") == "offline"


def test_the_creators_self_view_plays_the_stream(open_page, creator, livekit, password):
    encoder(creator, livekit)
    page = open_page()
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    assert_playing(page)


def test_a_viewer_who_joins_is_counted_on_their_page_soon(open_page, creator, livekit, settings):
    # The page is rendered before its viewer's join reaches the server; with the default poll setting
    # the connected cadence is 24-36 s, so the page recounts once soon after joining.
    encoder(creator, livekit)
    page = open_page()
    settings.WATCH_POLL_SECONDS = 10
    page.goto("/alice/live")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    assert page.locator("[data-viewer-count]").inner_text() == "0"

    expect(page.locator("[data-viewer-count]")).to_have_text("1", timeout=6_000)


def test_five_viewers_all_get_frames_while_the_page_counts_five(open_page, creator, livekit):
    encoder(creator, livekit)
    pages = [open_page() for _ in range(5)]
    for page in pages:
        page.goto("/alice/live")
    for page in pages:
        expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    for page in pages:
        assert_playing(page)
    # The count comes from the webhooks the five real joins produced.
    expect(pages[0].locator("[data-viewer-count]")).to_have_text("5", timeout=CONNECT_TIMEOUT)


def test_the_offline_card_counts_the_viewers_who_left_with_the_stream(open_page, creator, livekit, settings):
    # The page's last answer before going offline still counted its own connection; at the offline cadence
    # (10 s here, as by default) the card said "1 watching" for that long after everyone had left.
    settings.WATCH_POLL_SECONDS = 10
    ingress_id = encoder(creator, livekit)
    page = open_page()
    page.goto("/alice/live")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    expect(page.locator("[data-viewer-count]")).to_have_text("1", timeout=6_000)

    livekit.encoder_stop(ingress_id)
    expect(page.locator("[data-offline-card]")).to_be_visible(timeout=CONNECT_TIMEOUT)
    expect(page.locator("[data-viewer-count]")).to_have_text("0", timeout=5_000)
