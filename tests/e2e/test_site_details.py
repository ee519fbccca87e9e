"""Small things a visitor notices (issue 18, item 9): the tab icon, the header on a phone, the wording of
dates, and a log-out page for a typed-in URL."""

from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import log_in


def test_the_favicon_is_served(page):
    response = page.goto("/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert response.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.goto("/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(icon).ok


def test_the_header_fits_a_phone_and_the_player_clears_it(page, creator, viewer, password):
    creator.stream.is_live = True
    creator.stream.save()
    page.set_viewport_size({"width": 390, "height": 844})
    for who in ("alice", "bob"):  # a creator's links, and a viewer's longer "Become a creator"
        page.context.clear_cookies()
        log_in(page, who, password)
        page.goto("/alice/live")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        links = page.locator(".nav-links > a:visible, .nav-links button:visible")
        boxes = [links.nth(i).bounding_box() for i in range(links.count())]
        assert len({round(b["y"]) for b in boxes}) == 1, f"the links wrap: {boxes}"
        assert all(b["height"] < 30 for b in boxes), f"a link breaks over lines: {boxes}"
        assert all(b["x"] + b["width"] <= 390 for b in boxes)
        nav = page.locator("nav.nav").bounding_box()
        player = page.locator("[data-player]").bounding_box()
        assert player["y"] >= nav["y"] + nav["height"] + 8, "the player touches the header"


def test_a_pending_application_date_has_one_full_stop(page, pending_creator, password):
    log_in(page, "dave", password)
    page.goto("/accounts/creator/")
    text = page.locator("main").inner_text()
    assert "You applied on" in text
    assert ".." not in text


def test_logout_by_url_shows_a_button_that_logs_out(page, viewer, password):
    log_in(page, "bob", password)
    response = page.goto("/accounts/logout/")
    assert response.status == 200
    expect(page.locator("main")).to_contain_text("signed in as bob")
    page.click("[data-logout-form] button")
    expect(page.locator("[data-testid=nav-user]")).to_have_count(0)
    assert page.goto("/accounts/logout/").status == 200
    expect(page.locator("main")).to_contain_text("not signed in")
    assert User.objects.filter(username="bob").exists()
