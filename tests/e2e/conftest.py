"""Browser tests: Debian's Chromium driven by Playwright against the live test server.

Every page records Content-Security-Policy violations and page errors; a test fails if any occurred, and a
failing test leaves a screenshot in test-results/.
"""

import contextlib
import os
from pathlib import Path

import pytest

from conftest import _chromium_path

# Playwright's sync API keeps an event loop running in the main thread; the ORM calls the tests make there are
# still synchronous, so Django's async-safety guard must be told so.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

RESULTS = Path(__file__).resolve().parents[2] / "test-results"

# Collects every securitypolicyviolation event; an init script runs before any page script.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        page = item.funcargs.get("page")
        if page is not None:
            RESULTS.mkdir(exist_ok=True)
            # A screenshot is a courtesy: never let it mask the real failure.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(RESULTS / f"{item.name}.png"), full_page=True)
    return report


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=_chromium_path(),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--autoplay-policy=user-gesture-required",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    yield page
    violations = []
    for open_page in context.pages:
        with contextlib.suppress(Exception):  # a closed or navigating page has nothing to report
            violations += open_page.evaluate("window.__cspViolations || []")
    context.close()
    assert violations == [], f"Content-Security-Policy violations: {violations}"
    assert page_errors == [], f"JavaScript errors: {page_errors}"


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/accounts/login/" not in page.url, "log-in failed"


def wait_until(page, expression: str, timeout: float = 10.0):
    """Poll a JS expression until it is truthy. (page.wait_for_function evaluates strings with eval(),
    which the site's CSP rightly refuses; page.evaluate goes through the DevTools protocol instead.)"""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(100)
