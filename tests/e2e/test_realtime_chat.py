"""The chat's rules with the real livekit-client against the stand-in over WebRTC (they once ran against a
fake Room): following unlocks a followers-only chat live, the room's permission changes lock and unlock
it, slow mode holds a message before it leaves the browser, and another person's text and name are
shown as text. Markers browser + webrtc: the loopback-only namespace (scripts/test-webrtc.sh)."""

import time

import pytest
from playwright.sync_api import expect

from accounts.models import Follow
from streams.services import stream_chat_settings_update
from tests.e2e.conftest import log_in
from tests.e2e.test_realtime_watch import CONNECT_TIMEOUT, go_live, line, open_page, rtc_browser, say, watch

pytestmark = pytest.mark.webrtc
__all__ = ["open_page", "rtc_browser"]  # fixtures shared with the watch page's tests


def chat_texts(livekit, identity):
    """The lk.chat texts the stand-in relayed from one identity (inline text streams, as 2.x sends them
    to recipients that all speak data streams v2)."""
    return [
        p.stream_header.inline_content.decode(errors="replace")
        for p in livekit.relayed_data
        if p.participant_identity == identity and p.stream_header.topic == "lk.chat"
    ]


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


def test_a_delayed_message_leaves_the_browser_only_after_its_countdown(
    open_page, creator, viewer, password, livekit
):
    go_live(creator)
    creator.stream.is_chat_delayed = True
    creator.stream.save()
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    say(bob, "hello after a pause")
    sent_at = time.monotonic()
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "counting")
    expect(bob.locator("[data-chat-state]")).to_contain_text("Sending in")
    expect(bob.locator("[data-chat-input]")).to_be_disabled()
    assert chat_texts(livekit, str(viewer.pk)) == []

    while not chat_texts(livekit, str(viewer.pk)) and time.monotonic() < sent_at + 8:
        bob.wait_for_timeout(100)
    assert chat_texts(livekit, str(viewer.pk)) == ["hello after a pause"]
    assert time.monotonic() - sent_at >= 2.5  # the 3 s countdown, measured at the server


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
