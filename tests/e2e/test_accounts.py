from accounts.models import User
from tests.e2e.conftest import log_in


def test_a_visitor_signs_up_in_the_browser(page):
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=email]", "newcomer@example.com")
    page.fill("input[name=password1]", "a-Long-passphrase-42")
    page.fill("input[name=password2]", "a-Long-passphrase-42")
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-testid=nav-user]")
    assert "newcomer" in page.inner_text("[data-testid=nav-user]")
    assert User.objects.filter(username="newcomer").exists()


def test_a_reserved_username_shows_a_form_error(page):
    page.goto("/accounts/signup/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=email]", "a@example.com")
    page.fill("input[name=password1]", "a-Long-passphrase-42")
    page.fill("input[name=password2]", "a-Long-passphrase-42")
    page.click("main button[type=submit]")
    assert "reserved" in page.inner_text(".field.has-error")
    assert not User.objects.filter(username="admin").exists()


def test_a_user_logs_in_and_applies_to_stream(page, viewer, password):
    log_in(page, "bob", password)
    page.goto("/accounts/creator/")
    page.fill("textarea[name=reason]", "I want to stream chess lessons.")
    page.click("main button[type=submit]")
    assert "Pending review" in page.inner_text("[data-testid=creator-status]")
