"""The watch page in real Chromium against the live server and the stand-in LiveKit.

These run outside the WebRTC namespace, so no peer connection completes here: they check what the page
sent and shows (the tokens the stand-in recorded, offline/live flips, polling and retries). Everything that
needs a connected room (chat, permission changes, removal, eviction) runs with the real livekit-client in
test_realtime_*.py; no fake Room is left.
"""

import re

import pytest
from livekit import api as lk_api
from playwright.sync_api import expect

from accounts.models import Block
from streams import live, services
from streams import livekit as lk
from tests.e2e.conftest import log_in, wait_until


@pytest.fixture
def watch_settings(settings, livekit, live_server):
    settings.WATCH_POLL_SECONDS = 1
    livekit.site_url = live_server.url
    return settings


def give_ingress(creator):
    ingress = lk.ingress_create(user_id=creator.pk, username=creator.username, ingress_type="RTMP")
    stream = creator.stream
    stream.ingress_id = ingress.ingress_id
    stream.ingress_type = "RTMP"
    stream.server_url = ingress.url
    stream.stream_key = ingress.stream_key
    stream.save()
    return ingress


def chat_panel(page, selector="[data-chat]"):
    return page.locator(selector)


def test_a_guest_sees_the_offline_card_and_the_page_flips_live(page, creator, livekit, watch_settings):
    ingress = give_ingress(creator)
    page.goto("/alice/live")
    expect(page.locator("[data-offline-card]")).to_be_visible()
    expect(page.locator("[data-player]")).to_be_hidden()

    livekit.encoder_start(ingress.ingress_id)  # OBS starts: the stand-in posts a signed ingress_started

    expect(page.locator("[data-player]")).to_be_visible(timeout=8_000)
    expect(page.locator("[data-offline-card]")).to_be_hidden()
    # The stand-in may or may not finish the media connection here: either way the page asked for a token.
    state = "document.querySelector('[data-watch]').dataset.state"
    wait_until(page, f"['live', 'reconnecting'].includes({state})")
    assert livekit.recorded_tokens, "the page never showed the stand-in a token"
    claims = lk_api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(livekit.recorded_tokens[-1])
    assert re.fullmatch(r"guest-\d{13}-[0-9a-f]{8}", claims.identity)
    assert claims.video.room == lk.room_name_for(creator.pk)
    assert claims.video.can_publish is False and claims.video.can_subscribe is True
    assert claims.video.can_publish_data is True


def test_the_player_says_when_the_video_server_cannot_be_reached(page, creator, settings, live_server):
    creator.stream.is_live = True
    creator.stream.save()
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"  # nothing listens there
    page.goto("/alice/live")
    expect(page.locator("[data-player-message]")).to_contain_text(
        "cannot reach the video server", timeout=15_000
    )


def test_a_blocked_viewer_gets_the_404_page(page, creator, viewer, password):
    Block.objects.create(blocker=creator, blocked=viewer)
    log_in(page, "bob", password)
    response = page.goto("/alice/live")
    assert response.status == 404
    expect(page.locator("main")).to_contain_text("not found", ignore_case=True)


def test_a_stream_title_is_never_rendered_as_html(page, creator):
    # Chat names and texts: test_realtime_chat.py, with a real second participant.
    creator.stream.title = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
    creator.stream.save()
    page.goto("/alice/live")
    expect(page.locator("[data-title]")).to_have_text(creator.stream.title)
    assert page.locator("[data-title] img, [data-title] script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_the_home_page_lists_a_live_stream_with_its_viewer_count(page, creator):
    creator.stream.is_live = True
    creator.stream.viewer_count = 42
    creator.stream.title = "Speedrun night"
    creator.stream.save()
    page.goto("/")
    card = page.locator("[data-section=live] [data-stream-card=alice]")
    expect(card).to_contain_text("Speedrun night")
    expect(card.locator("[data-card-viewers]")).to_have_text("42 watching")


def test_title_and_viewer_count_refresh_on_their_own(page, creator, watch_settings):
    page.goto("/alice/live")
    expect(page.locator("[data-viewer-count]")).to_have_text("0")
    # Through the services that write them, as the dashboard and the webhooks do (they refresh the cache).
    services.stream_info_update(stream=creator.stream, title="Now with commentary")
    live.presence_sync(stream=creator.stream, joined_at_ms={f"guest-{n}": live.now_ms() for n in range(9)})
    expect(page.locator("[data-viewer-count]")).to_have_text("9", timeout=8_000)
    expect(page.locator("[data-title]")).to_have_text("Now with commentary", timeout=8_000)


def _advance(page, seconds: int, step: int = 5) -> None:
    """Run the page's fake clock forward in steps, letting real network replies land between them."""
    for _ in range(0, seconds, step):
        page.clock.run_for(step * 1000)
        page.wait_for_timeout(50)


def test_an_offline_watch_page_never_connects_again(page, creator, settings, live_server):
    """Issue 18.1: the stream ends while a connect waits for its token; for three minutes of the page's own
    clock nothing asks for a token or opens a connection, and the offline card shows no video-server error."""
    creator.stream.is_live = True
    creator.stream.save()
    settings.WATCH_POLL_SECONDS = 10
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"  # a room built from this token would try here
    held, tokens, sockets = [], [], []
    page.route("**/api/viewer/token", lambda route: held.append(route))
    page.on("request", lambda r: tokens.append(r.url) if r.url.endswith("/api/viewer/token") else None)
    page.on("request", lambda r: sockets.append(r.url) if ":9/" in r.url else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.clock.install()
    page.goto("/alice/live")
    wait_until(page, "document.querySelector('[data-watch]').dataset.state === 'connecting'")
    assert len(held) == 1

    live.stream_go_offline(stream=creator.stream)
    _advance(page, 15)  # the status poll says offline while the token is still on its way
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "offline")
    held[0].continue_()  # the token arrives late: it must build nothing
    _advance(page, 180)

    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "offline")
    expect(page.locator("[data-offline-card]")).to_be_visible()
    expect(page.locator("[data-player]")).to_be_hidden()
    expect(page.locator("[data-player-message]")).to_have_text("")
    assert tokens == [tokens[0]], f"token requested again after going offline: {tokens}"
    assert sockets == [], f"connection attempts after going offline: {sockets}"


def test_a_failed_connect_retries_only_while_the_stream_is_live(page, creator, settings, live_server):
    """A connect that fails waits on a retry timer; the stream ending clears it for good."""
    creator.stream.is_live = True
    creator.stream.save()
    settings.WATCH_POLL_SECONDS = 10
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"
    tokens, sockets = [], []
    page.on("request", lambda r: tokens.append(r.url) if r.url.endswith("/api/viewer/token") else None)
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.clock.install()
    page.goto("/alice/live")
    wait_until(page, "document.querySelector('[data-watch]').dataset.state === 'reconnecting'", timeout=15)
    expect(page.locator("[data-player-message]")).to_contain_text("cannot reach the video server")

    live.stream_go_offline(stream=creator.stream)
    _advance(page, 15)
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "offline")
    page.wait_for_timeout(500)  # the fake clock stands still: only reports of earlier requests arrive
    before = len(tokens), len(sockets)
    _advance(page, 180)
    assert (len(tokens), len(sockets)) == before
    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "offline")


def test_polling_pauses_while_the_tab_is_hidden(page, creator, settings, live_server):
    settings.WATCH_POLL_SECONDS = 10
    polls = []
    page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/alice/status") else None)
    # Chromium has no switch for "hidden" in a headless page: the test owns document.hidden instead.
    page.add_init_script(
        "window.__hidden = false;Object.defineProperty(document, 'hidden', { get: () => window.__hidden });"
    )
    page.clock.install()
    page.goto("/alice/live")
    wait_until(page, "document.querySelector('[data-watch]').watchPage !== undefined")
    _advance(page, 30)
    assert len(polls) >= 2, "the offline page did not poll"

    page.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(300)
    before = len(polls)
    _advance(page, 120)
    assert len(polls) == before, "a hidden tab kept polling"

    page.evaluate("window.__hidden = false; document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(300)
    assert len(polls) == before + 1, "a tab shown again polls at once"


# A room with livekit-client's event surface, handed to the page's own listeners.
ROOM_EVENTS = """
(hostId) => {
  const w = document.querySelector('[data-watch]').watchPage;
  const handlers = {};
  const detached = [];
  const room = { on(event, callback) { handlers[event] = callback; return room; }, disconnect() {} };
  w.room = room;
  w.joined = true;
  w.enter('live');
  w.listen(room, LivekitClient.RoomEvent);
  const track = { kind: 'video', attach() {}, detach(el) { detached.push(el.tagName); } };
  window.__events = { handlers, detached, track, host: { identity: String(hostId) } };
}
"""


def test_the_page_follows_the_rooms_reconnecting_and_track_events(page, creator, watch_settings):
    page.clock.install()  # the page's own polls and connects wait for a clock nobody advances
    page.goto("/alice/live")
    wait_until(page, "document.querySelector('[data-watch]').watchPage !== undefined")
    page.evaluate(f"({ROOM_EVENTS})({creator.pk})")
    state = page.locator("[data-watch]")

    page.evaluate("window.__events.handlers[LivekitClient.RoomEvent.Reconnecting]()")
    expect(state).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("[data-player-message]")).to_contain_text("Reconnecting")
    page.evaluate("window.__events.handlers[LivekitClient.RoomEvent.Reconnected]()")
    expect(state).to_have_attribute("data-state", "live")
    expect(page.locator("[data-player-message]")).to_have_text("")

    page.evaluate("const e = window.__events; e.handlers.trackUnsubscribed(e.track, {}, e.host)")
    assert page.evaluate("window.__events.detached") == ["VIDEO"]
