"""The creator's self-view (the dashboard's player and chat) with the real livekit-client against the
stand-in over WebRTC: the creator and a viewer chat, and the dashboard's chat settings reach a connected
viewer at once. Markers browser + webrtc: runs in the loopback-only namespace (scripts/test-webrtc.sh)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.test_realtime_watch import CONNECT_TIMEOUT, go_live, line, open_page, rtc_browser, say, watch

pytestmark = pytest.mark.webrtc
__all__ = ["open_page", "rtc_browser"]  # fixtures shared with the watch page's tests


def test_the_creator_and_a_viewer_chat_from_the_dashboard(open_page, creator, viewer, password, livekit):
    go_live(creator)
    host = open_page()
    log_in(host, "alice", password)
    host.goto("/dashboard/")
    expect(host.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    say(host, "welcome, everyone")
    received = line(bob, "welcome, everyone")
    expect(received.locator(".chat-name")).to_have_text("alice", timeout=CONNECT_TIMEOUT)
    expect(received.locator(".badge.live")).to_have_text("creator")

    say(bob, "thanks alice")
    expect(line(host, "thanks alice").locator(".chat-name")).to_have_text("bob", timeout=CONNECT_TIMEOUT)
    identities = sorted(p.identity for p in livekit.participants(str(creator.pk)))
    assert identities == sorted([f"Host-{creator.pk}", str(viewer.pk)])


def test_followers_only_saved_on_the_dashboard_locks_a_connected_viewers_chat(
    open_page, creator, viewer, password
):
    go_live(creator)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)
    expect(bob.locator("[data-chat-input]")).to_be_enabled()

    host = open_page()
    log_in(host, "alice", password)
    host.goto("/dashboard/")
    host.check("input[name=chat-is_chat_followers_only]")
    host.click("[data-chat-settings-form] button[type=submit]")
    expect(host.locator(".message.success")).to_contain_text("Chat settings saved.")

    expect(bob.locator("[data-chat-input]")).to_be_disabled(timeout=CONNECT_TIMEOUT)
    expect(bob.locator("[data-chat]")).to_have_attribute("data-state", "locked")
