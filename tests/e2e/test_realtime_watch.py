"""The watch page and its chat with the REAL livekit-client (static/vendor) in Chromium, connected to the
stand-in LiveKit over WebRTC: two browser contexts chat both ways, and the server's moves (followers-only,
a block, a second tab, a refused token) reach the page as LiveKit's would.

WebRTC: these run in the loopback-only network namespace (scripts/test-webrtc.sh; markers browser and
webrtc), with the flags that let Chromium gather loopback candidates there.
"""

import contextlib

import pytest
from playwright.sync_api import expect

from accounts.services import block_create
from conftest import _chromium_path
from streams.live import stream_go_live
from streams.services import stream_chat_settings_update
from tests.e2e.conftest import RECORD_VIOLATIONS, log_in

pytestmark = pytest.mark.webrtc

# Chromium gathers 127.0.0.1 candidates only with the loopback flag AND media permission (the fake UI
# grants it without a getUserMedia call); in a namespace with no other route nothing else exists.
WEBRTC_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--allow-loopback-in-peer-connection",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=user-gesture-required",
]
CONNECT_TIMEOUT = 15_000


@pytest.fixture(scope="module")
def rtc_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium_path(), headless=True, args=WEBRTC_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(rtc_browser, live_server, transactional_db, livekit, settings):
    """Opens a page in a new browser context (another person), or in ``context`` (another tab). Every
    page is checked for CSP violations and JavaScript errors at the end, as the e2e ``page`` fixture does."""
    settings.WATCH_POLL_SECONDS = 1
    livekit.site_url = live_server.url
    contexts, errors = [], []

    def open_(context=None):
        if context is None:
            context = rtc_browser.new_context(base_url=live_server.url)
            context.add_init_script(RECORD_VIOLATIONS)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_
    violations = []
    for context in contexts:
        for page in context.pages:
            with contextlib.suppress(Exception):
                violations += page.evaluate("window.__cspViolations || []")
        context.close()
    assert violations == [], f"Content-Security-Policy violations: {violations}"
    assert errors == [], f"JavaScript errors: {errors}"


def go_live(creator):
    """Live as the ingress webhook leaves it: an open session, which the chat keeps its messages in."""
    stream_go_live(stream=creator.stream)
    creator.stream.refresh_from_db()  # a test that saves the stream later must not undo it


def watch(page, state="live"):
    page.goto("/alice/live")
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", state, timeout=CONNECT_TIMEOUT)
    if state == "live":
        # Connected, the chat loads its history: wait for it, so the test's own writes never meet that read
        # (SQLite's shared in-memory database refuses a write while another thread reads the table).
        expect(page.locator("[data-chat]")).to_have_attribute(
            "data-history", "loaded", timeout=CONNECT_TIMEOUT
        )


def say(page, text):
    page.fill("[data-chat-input]", text)
    page.click("[data-chat-send]")


def line(page, text):
    return page.locator("[data-chat-messages] li").filter(has_text=text)


def test_a_guest_and_a_viewer_chat_both_ways_and_see_each_others_names(open_page, creator, viewer, password):
    go_live(creator)
    guest = open_page()
    watch(guest)
    guest.fill("input[name=guest_name]", "Zed")
    guest.click("[data-guest-form] button[type=submit]")  # a new token with the name: it reconnects
    expect(guest.locator("[data-chat-input]")).to_be_enabled(timeout=CONNECT_TIMEOUT)

    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    say(bob, "hello from bob")
    received = line(guest, "hello from bob")
    expect(received.locator(".chat-name")).to_have_text("bob", timeout=CONNECT_TIMEOUT)
    expect(received.locator(".badge.guest")).to_have_count(0)

    say(guest, "hi bob, Zed here")
    received = line(bob, "hi bob, Zed here")
    expect(received.locator(".chat-name")).to_have_text("Zed", timeout=CONNECT_TIMEOUT)
    expect(received.locator(".badge.guest")).to_be_visible()
    # Each sees their own line once and the other's once: nothing is echoed back by the server.
    expect(line(bob, "hello from bob")).to_have_count(1)
    expect(line(guest, "hi bob, Zed here")).to_have_count(1)


def test_turning_on_followers_only_takes_the_chat_from_a_connected_non_follower(
    open_page, creator, viewer, password
):
    go_live(creator)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    stream_chat_settings_update(stream=creator.stream, is_chat_followers_only=True)

    # No reload: UpdateParticipant reached the page as ParticipantPermissionsChanged.
    expect(bob.locator("[data-chat-input]")).to_be_disabled(timeout=CONNECT_TIMEOUT)
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "locked")
    assert (
        bob.evaluate(
            "document.querySelector('[data-watch]').watchPage.room.localParticipant.permissions.canPublishData"
        )
        is False
    )
    assert bob.locator("[data-watch]").get_attribute("data-state") == "live"  # still watching


def test_a_block_disconnects_the_viewer_with_the_pages_message(open_page, creator, viewer, password, livekit):
    go_live(creator)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    block_create(blocker=creator, blocked=viewer)

    # RemoveParticipant: PARTICIPANT_REMOVED, then the status endpoint says the stream is gone for bob.
    expect(bob.locator("[data-watch]")).to_have_attribute("data-state", "gone", timeout=CONNECT_TIMEOUT)
    expect(bob.locator("[data-gone-card]")).to_be_visible()
    assert [p.identity for p in livekit.participants(str(creator.pk))] == []


def test_a_second_tab_with_the_same_identity_evicts_the_first(open_page, creator, viewer, password, livekit):
    go_live(creator)
    first = open_page()
    log_in(first, "bob", password)
    watch(first)
    token_requests = []
    first.on("request", lambda r: token_requests.append(r) if r.url.endswith("/api/viewer/token") else None)
    second = open_page(first.context)
    watch(second)

    expect(first.locator("[data-watch]")).to_have_attribute("data-state", "evicted", timeout=CONNECT_TIMEOUT)
    expect(first.locator("[data-player-message]")).to_contain_text("somewhere else")
    first.wait_for_timeout(3_000)  # it does not fight back: the second tab stays connected
    assert token_requests == [], "the evicted tab asked for a new token"
    assert second.locator("[data-watch]").get_attribute("data-state") == "live"
    assert [p.identity for p in livekit.participants(str(creator.pk))] == [str(viewer.pk)]


def test_a_refused_token_shows_the_pages_error(open_page, creator, settings, livekit):
    go_live(creator)
    settings.LIVEKIT_API_SECRET = "a-secret-the-video-server-does-not-know-0123456789"
    guest = open_page()
    guest.goto("/alice/live")

    expect(guest.locator("[data-player-message]")).to_contain_text(
        "cannot reach the video server", timeout=CONNECT_TIMEOUT
    )
    assert guest.locator("[data-watch]").get_attribute("data-state") == "reconnecting"
    assert livekit.participants(str(creator.pk)) == []
    assert livekit.recorded_tokens, "the page never showed the stand-in its token"
