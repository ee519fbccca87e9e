"""The chat's rules with the real livekit-client against the stand-in over WebRTC (they once ran against a
fake Room): following unlocks a followers-only chat live, the room's permission changes lock and unlock
it, slow mode holds a message before it leaves the browser, and another person's text and name are
shown as text. Markers browser + webrtc: the loopback-only namespace (scripts/test-webrtc.sh)."""

import json
import time

import pytest
from playwright.sync_api import expect

from accounts.models import Follow
from chat.services import CHAT_TOPIC
from streams.services import stream_chat_settings_update
from tests.e2e.conftest import log_in
from tests.e2e.test_realtime_watch import CONNECT_TIMEOUT, go_live, line, open_page, rtc_browser, say, watch

pytestmark = pytest.mark.webrtc
__all__ = ["open_page", "rtc_browser"]  # fixtures shared with the watch page's tests


def chat_texts(livekit, identity):
    """The texts the server sent to the room (SendData on the chat topic) from one identity's messages."""
    texts = []
    for request in livekit.sent_data:
        event = json.loads(request.data)
        if (
            request.topic == CHAT_TOPIC
            and event["type"] == "message"
            and event["message"]["author"] == identity
        ):
            texts.append(event["message"]["text"])
    return texts


def test_following_unlocks_a_followers_only_chat_without_a_reload(
    open_page, creator, viewer, password, livekit
):
    go_live(creator)
    creator.stream.is_chat_followers_only = True
    creator.stream.save()
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "locked")
    expect(bob.locator("[data-chat-state]")).to_contain_text("Only followers")
    expect(bob.locator("[data-chat-input]")).to_be_disabled()

    bob.click("[data-follow-button]")

    expect(bob.locator("[data-chat-input]")).to_be_enabled(timeout=CONNECT_TIMEOUT)
    assert Follow.objects.filter(follower=viewer, following=creator).exists()
    # The room agrees: the server gave the connected participant canPublishData, so the message goes out.
    say(bob, "glad to follow")
    expect(line(bob, "glad to follow")).to_have_count(1)
    deadline = time.monotonic() + 5
    while not chat_texts(livekit, str(viewer.pk)) and time.monotonic() < deadline:
        bob.wait_for_timeout(100)
    assert chat_texts(livekit, str(viewer.pk)) == ["glad to follow"]
    assert livekit.refused_data == []


def test_the_rooms_permission_changes_lock_and_unlock_the_chat(open_page, creator, viewer, password):
    go_live(creator)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    stream_chat_settings_update(stream=creator.stream, is_chat_enabled=False)
    expect(bob.locator("[data-chat-input]")).to_be_disabled(timeout=CONNECT_TIMEOUT)

    stream_chat_settings_update(stream=creator.stream, is_chat_enabled=True)
    expect(bob.locator("[data-chat-input]")).to_be_enabled(timeout=CONNECT_TIMEOUT)


def test_under_delay_viewers_see_a_message_after_3_s_and_a_moderator_at_once(
    open_page, creator, viewer, outsider, password, livekit
):
    from chat.services import moderator_appoint

    moderator_appoint(creator=creator, username="charlie")
    go_live(creator)
    creator.stream.is_chat_delayed = True
    creator.stream.save()
    guest = open_page()
    watch(guest)
    carol = open_page()
    log_in(carol, "charlie", password)
    watch(carol)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    say(bob, "hello after a pause")
    sent_at = time.monotonic()
    # The moderator sees it at once, marked pending; the server holds it for everyone else.
    expect(line(carol, "hello after a pause").locator(".badge.pending")).to_have_count(
        1, timeout=CONNECT_TIMEOUT
    )
    assert time.monotonic() - sent_at < 2.5
    expect(line(guest, "hello after a pause")).to_have_count(0)
    expect(line(guest, "hello after a pause")).to_have_count(1, timeout=CONNECT_TIMEOUT)
    assert time.monotonic() - sent_at >= 2.5  # the 3 s delay, kept by the server
    expect(line(carol, "hello after a pause").locator(".badge.pending")).to_have_count(0)


def test_under_delay_a_moderator_deletes_a_held_message_before_viewers_see_it(
    open_page, creator, viewer, outsider, password, livekit
):
    from chat.services import moderator_appoint

    moderator_appoint(creator=creator, username="charlie")
    go_live(creator)
    creator.stream.is_chat_delayed = True
    creator.stream.save()
    guest = open_page()
    watch(guest)
    carol = open_page()
    log_in(carol, "charlie", password)
    watch(carol)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    say(bob, "should never show")
    line(carol, "should never show").locator("button", has_text="Delete").click()
    expect(line(carol, "should never show")).to_have_count(0, timeout=CONNECT_TIMEOUT)
    guest.wait_for_timeout(4500)
    expect(line(guest, "should never show")).to_have_count(0)


def test_another_persons_text_and_name_are_shown_as_text(open_page, creator, viewer, password):
    go_live(creator)
    name = '<img src=x onerror="window.__xss=1">'
    text = '<img src=x onerror="window.__xss=3"><script>window.__xss=4</script>'
    guest = open_page()
    watch(guest)
    guest.fill("input[name=guest_name]", name)
    guest.click("[data-guest-form] button[type=submit]")
    expect(guest.locator("[data-chat-input]")).to_be_enabled(timeout=CONNECT_TIMEOUT)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    say(guest, text)

    message = bob.locator("[data-chat-messages] li").last
    expect(message.locator(".chat-text")).to_have_text(text, timeout=CONNECT_TIMEOUT)
    expect(message.locator(".chat-name")).to_have_text(name)
    expect(message.locator(".badge.guest")).to_be_visible()
    assert bob.locator("[data-chat-messages] img, [data-chat-messages] script").count() == 0
    assert bob.evaluate("window.__xss") is None


def test_a_late_joiner_sees_the_last_messages_then_live_ones_once_each(
    open_page, creator, viewer, outsider, password, livekit
):
    go_live(creator)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    for n in range(3):
        say(bob, f"before {n}")
        expect(line(bob, f"before {n}")).to_have_count(1)

    carol = open_page()
    log_in(carol, "charlie", password)
    watch(carol)
    say(bob, "after carol came")

    lines = carol.locator("[data-chat-messages] li .chat-text")
    expect(lines).to_have_text(
        ["before 0", "before 1", "before 2", "after carol came"], timeout=CONNECT_TIMEOUT
    )
    carol.wait_for_timeout(500)
    expect(lines).to_have_count(4)  # nothing twice at the seam of history and live


def test_a_participants_own_packet_on_the_chat_topic_is_not_shown(
    open_page, creator, viewer, password, livekit
):
    go_live(creator)
    guest = open_page()
    watch(guest)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    forged = {
        "type": "message",
        "message": {"id": 999, "author": "1", "name": "alice", "role": "creator", "text": "forged"},
    }
    bob.evaluate(
        """(event) => document.querySelector('[data-watch]').watchPage.room.localParticipant.publishData(
            new TextEncoder().encode(JSON.stringify(event)), { reliable: true, topic: 'streamit.chat' })""",
        forged,
    )
    say(bob, "real one")
    expect(line(guest, "real one")).to_have_count(1, timeout=CONNECT_TIMEOUT)
    expect(line(guest, "forged")).to_have_count(0)


def test_a_moderator_deletes_a_message_and_times_its_author_out(
    open_page, creator, viewer, outsider, password, livekit
):
    from chat.services import moderator_appoint

    moderator_appoint(creator=creator, username="charlie")
    go_live(creator)
    guest = open_page()
    watch(guest)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    carol = open_page()
    log_in(carol, "charlie", password)
    watch(carol)

    say(bob, "something rude")
    expect(line(guest, "something rude")).to_have_count(1, timeout=CONNECT_TIMEOUT)
    line(carol, "something rude").locator("button", has_text="Delete").click()
    expect(line(guest, "something rude")).to_have_count(0, timeout=CONNECT_TIMEOUT)
    expect(line(bob, "something rude")).to_have_count(0)

    say(bob, "more of it")
    line(carol, "more of it").locator("button", has_text="1m").click()
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "timed-out", timeout=CONNECT_TIMEOUT)
    expect(bob.locator("[data-chat-state]")).to_contain_text("timed out for")
    expect(bob.locator("[data-chat-input]")).to_be_disabled()
    # The guest has no menu: only the creator and moderators get one.
    expect(line(guest, "more of it").locator("button")).to_have_count(0)
    # When the time-out ends the input comes back (shortened here to 2 s: the shortest real one is a minute).
    bob.evaluate("document.querySelector('[data-chat]').chatPanel.timeOut(2)")
    expect(bob.locator("[data-chat-input]")).to_be_enabled(timeout=CONNECT_TIMEOUT)


def test_slow_mode_shows_and_enforces_its_countdown(open_page, creator, viewer, password, livekit):
    go_live(creator)
    creator.stream.chat_slow_seconds = 30
    creator.stream.save()
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    say(bob, "one")
    expect(line(bob, "one")).to_have_count(1, timeout=CONNECT_TIMEOUT)
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "slow")
    expect(bob.locator("[data-chat-state]")).to_contain_text("Slow mode: you can send again in")
    expect(bob.locator("[data-chat-input]")).to_be_disabled()
    # The server enforces it whatever the page does: a second message straight to the API is 429.
    status = bob.evaluate(
        """async () => (await fetch(document.querySelector('[data-chat]').dataset.chatUrl, {
            method: 'POST', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json',
                      'X-CSRFToken': document.cookie.match(/csrftoken=([^;]+)/)[1]},
            body: JSON.stringify({text: 'two'})})).status"""
    )
    assert status == 429
    assert chat_texts(livekit, str(viewer.pk)) == ["one"]
