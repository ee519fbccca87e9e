"""The home page's sections (issue 18, item 10)."""

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_a_guest_sees_a_live_stream_once(page, creator, other_creator):
    for user in (creator, other_creator):
        user.stream.is_live = True
        user.stream.save()
    page.goto("/")
    expect(page.locator("[data-section=live] [data-stream-card]")).to_have_count(2)
    for name in ("alice", "erin"):
        expect(page.locator(f"[data-stream-card={name}]")).to_have_count(1)
    expect(page.locator("[data-section=recommended]")).to_have_count(0)


def test_a_viewer_still_gets_recommendations(page, creator, viewer, password):
    creator.stream.is_live = True
    creator.stream.save()
    log_in(page, "bob", password)
    page.goto("/")
    expect(page.locator("[data-section=recommended] [data-stream-card=alice]")).to_have_count(1)
