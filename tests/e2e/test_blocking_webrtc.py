"""Blocking from the dashboard with the real livekit-client on both sides, against the stand-in over WebRTC
(markers browser + webrtc: runs in the loopback-only namespace, scripts/test-webrtc.sh)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Block
from tests.e2e.conftest import log_in
from tests.e2e.test_realtime_watch import CONNECT_TIMEOUT, go_live, line, open_page, rtc_browser, say, watch

pytestmark = pytest.mark.webrtc
__all__ = ["open_page", "rtc_browser"]


def test_the_creator_blocks_a_viewer_in_the_room_and_their_page_goes_gone(
    open_page, creator, viewer, password, livekit
):
    go_live(creator)
    host = open_page()
    log_in(host, "alice", password)
    host.goto("/dashboard/")
    expect(host.locator("[data-watch]")).to_have_attribute("data-state", "live", timeout=CONNECT_TIMEOUT)
    bob = open_page()
    log_in(bob, "bob", password)
    watch(bob)

    person = host.locator(f"[data-people-list] [data-person='{viewer.pk}']")
    expect(person).to_contain_text("bob", timeout=CONNECT_TIMEOUT)
    say(bob, "hello from bob")
    expect(line(host, "hello from bob").locator("[data-block-user=bob]")).to_be_visible(
        timeout=CONNECT_TIMEOUT
    )
    host.on("dialog", lambda dialog: dialog.accept())
    person.locator("[data-block-user=bob]").click()

    expect(bob.locator("[data-watch]")).to_have_attribute("data-state", "gone", timeout=CONNECT_TIMEOUT)
    expect(person).to_have_count(0, timeout=CONNECT_TIMEOUT)
    expect(host.locator("[data-block-user=bob]")).to_have_count(0)
    assert Block.objects.filter(blocker=creator, blocked=viewer).exists()
    assert str(viewer.pk) not in [p.identity for p in livekit.participants(str(creator.pk))]
