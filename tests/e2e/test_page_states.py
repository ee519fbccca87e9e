"""Pages that never show a wrong state (issue 18, items 2 and 3): a stream that is gone for this visitor,
and the dashboard's LIVE/OFFLINE badges."""

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from streams import live as live_state
from streams import services as stream_services
from tests.e2e.conftest import log_in


@pytest.fixture
def fast_polls(settings, livekit, live_server):
    settings.WATCH_POLL_SECONDS = 1
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"  # no media here: the page stays "reconnecting" while live
    livekit.site_url = live_server.url
    return settings


def go_live(stream, live=True):
    # Through the live-state services, as the webhooks do: they refresh the state the pages poll.
    (live_state.stream_go_live if live else live_state.stream_go_offline)(stream=stream)


def shown_badges(page) -> list[str]:
    return [
        badge.inner_text().strip().upper()
        for badge in page.locator("[data-live-badge], [data-offline-badge]").all()
        if badge.is_visible()
    ]


def test_a_viewer_blocked_mid_stream_sees_the_not_available_state(
    page, creator, viewer, password, fast_polls
):
    go_live(creator.stream)
    log_in(page, "bob", password)
    page.goto("/alice/live")
    expect(page.locator("[data-live-badge]")).to_be_visible()

    account_services.block_create(blocker=creator, blocked=viewer)  # the status endpoint now answers 404

    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "gone", timeout=8_000)
    expect(page.locator("[data-gone-card]")).to_contain_text("not available")
    expect(page.locator("[data-live-badge]")).to_be_hidden()
    expect(page.locator("[data-player]")).to_be_hidden()
    expect(page.locator("[data-offline-card]")).to_be_hidden()
    expect(page.locator("[data-chat-input]")).to_be_disabled()


def test_a_revoked_creators_watch_page_and_dashboard_leave_live(page, creator, password, fast_polls):
    go_live(creator.stream)
    page.goto("/alice/live")  # a guest watching
    expect(page.locator("[data-live-badge]")).to_be_visible()
    dashboard = page.context.browser.new_context(base_url=page.url.split("/alice")[0]).new_page()
    log_in(dashboard, "alice", password)
    dashboard.goto("/dashboard/")
    assert shown_badges(dashboard) == ["LIVE"]

    stream_services.creator_revoke(user=creator, reviewer=None)

    expect(page.locator("[data-watch]")).to_have_attribute("data-state", "gone", timeout=8_000)
    expect(page.locator("[data-live-badge]")).to_be_hidden()
    expect(dashboard.locator("[data-watch]")).to_have_attribute("data-state", "gone", timeout=8_000)
    expect(dashboard.locator("[data-gone-card]")).to_contain_text("not available")
    assert shown_badges(dashboard) == ["OFFLINE"]
    dashboard.context.close()


def test_the_dashboard_shows_exactly_one_badge_through_live_and_offline(page, creator, password, fast_polls):
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    assert shown_badges(page) == ["OFFLINE"]

    go_live(creator.stream)
    expect(page.locator("[data-live-badge]")).to_be_visible(timeout=8_000)
    assert shown_badges(page) == ["LIVE"]

    go_live(creator.stream, live=False)
    expect(page.locator("[data-offline-badge]")).to_be_visible(timeout=8_000)
    assert shown_badges(page) == ["OFFLINE"]
