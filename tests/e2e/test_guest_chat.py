"""The guest's chat form (issue 18, item 4): shown only where a guest may chat, the name kept for the tab's
session, and "Use this name" confirming visibly."""

import json

import pytest
from playwright.sync_api import expect


@pytest.fixture
def fast_polls(settings, livekit, live_server):
    settings.WATCH_POLL_SECONDS = 1
    livekit.site_url = live_server.url
    return settings


@pytest.mark.parametrize(
    "rules",
    [{"is_chat_enabled": False}, {"is_chat_followers_only": True}],
    ids=["chat-off", "followers-only"],
)
def test_the_guest_form_is_hidden_where_guests_cannot_chat(page, creator, rules):
    stream = creator.stream
    for field, value in rules.items():
        setattr(stream, field, value)
    stream.save()
    page.goto("/alice/live")
    expect(page.locator("[data-chat]")).to_have_attribute("data-state", "locked")
    expect(page.locator("[data-guest-form]")).to_be_hidden()


def test_the_guest_form_follows_the_creators_chat_settings(page, creator, fast_polls):
    page.goto("/alice/live")
    expect(page.locator("[data-guest-form]")).to_be_visible()
    stream = creator.stream
    stream.is_chat_followers_only = True
    stream.save()
    expect(page.locator("[data-guest-form]")).to_be_hidden(timeout=8_000)
    stream.is_chat_followers_only = False
    stream.save()
    expect(page.locator("[data-guest-form]")).to_be_visible(timeout=8_000)


def test_a_guest_name_is_confirmed_and_kept_for_the_tab(page, creator, fast_polls):
    creator.stream.is_live = True
    creator.stream.save()
    bodies = []
    page.on(
        "request",
        lambda r: (
            bodies.append(json.loads(r.post_data or "{}")) if r.url.endswith("/api/viewer/token") else None
        ),
    )
    page.goto("/alice/live")
    expect(page.locator("[data-guest-saved]")).to_be_hidden()
    page.fill("#guest-name", "  Zed the guest ")
    page.click("[data-guest-form] button[type=submit]")
    expect(page.locator("[data-guest-saved]")).to_be_visible()
    expect(page.locator("[data-guest-saved]")).to_contain_text("You chat as “Zed the guest”")

    bodies.clear()
    page.reload()
    expect(page.locator("#guest-name")).to_have_value("Zed the guest")
    expect(page.locator("[data-guest-saved]")).to_contain_text("Zed the guest")
    page.wait_for_timeout(500)
    assert bodies and bodies[0].get("guestName") == "Zed the guest", bodies

    page.fill("#guest-name", "Zed 2")  # an edit not yet confirmed shows no stale confirmation
    expect(page.locator("[data-guest-saved]")).to_be_hidden()
