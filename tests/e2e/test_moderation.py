"""The dashboard's moderation card: the creator appoints and removes moderators by username, and the
moderation log says who did what."""

from playwright.sync_api import expect

from chat.models import Moderator
from tests.e2e.conftest import log_in


def test_the_creator_appoints_and_removes_a_moderator_and_the_log_says_so(page, creator, viewer, password):
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    card = page.locator("[data-moderation]")
    expect(card).to_have_attribute("data-loaded", "true")

    card.locator("input[name=username]").fill("bob")
    card.locator("[data-moderator-form] button").click()

    expect(card.locator("[data-moderator=bob]")).to_be_visible()
    assert Moderator.objects.filter(creator=creator, user=viewer).exists()
    expect(card.locator("[data-moderation-log] li").first).to_contain_text("alice appointed bob")

    card.locator("[data-moderator=bob] button").click()
    expect(card.locator("[data-moderator=bob]")).to_have_count(0)
    assert not Moderator.objects.exists()
    expect(card.locator("[data-moderation-log] li").first).to_contain_text("alice dismissed bob")


def test_an_unknown_username_is_said_on_the_card(page, creator, password):
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    card = page.locator("[data-moderation]")
    expect(card).to_have_attribute("data-loaded", "true")
    card.locator("input[name=username]").fill("nobody")
    card.locator("[data-moderator-form] button").click()
    expect(card.locator("[data-moderation-error]")).to_have_text("No such user.")
