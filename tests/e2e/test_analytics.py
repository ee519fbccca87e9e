"""The analytics pages in real Chromium: the chart is drawn from the series, the table says the same, and a
live session's curve grows as webhooks arrive."""

import time

from playwright.sync_api import expect

from analytics.models import BUCKET_MS
from analytics.services import from_ms
from analytics.tests.conftest import play
from analytics.tests.story import END, MIN, T0, expected_viewers
from chat.models import ChatMessage
from tests.e2e.conftest import log_in, wait_until
from webhooks.tests.deliveries import http_post, participant_event

PLOT = "document.querySelector('[data-analytics-session]').plot"
TABLE_ROWS = """() => [...document.querySelectorAll('[data-series-table] tbody tr')].map(
  (row) => [Number(row.dataset.t), Number(row.cells[1].textContent), Number(row.cells[2].textContent)])"""


def test_the_session_chart_is_drawn_from_its_points_and_the_table_matches(page, creator, password):
    session = play(creator.stream)
    minute = (T0 + 5 * MIN) // MIN * MIN
    for at in (minute + 1_000, minute + 2_000):
        ChatMessage.objects.create(
            session=session, identity="101", name="bob", role="viewer", text="hi", created_at=from_ms(at)
        )
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    page.click("a:has-text('Analytics')")
    expect(page.locator(f"[data-session='{session.pk}']")).to_be_visible()
    wait_until(page, "document.querySelector('[data-analytics-days]').plot")
    assert page.evaluate("document.querySelector('[data-analytics-days]').plot.data[0].length") == 30

    page.click(f"[data-session='{session.pk}'] a")
    wait_until(page, PLOT)
    chat = page.evaluate("document.querySelector('[data-analytics-chat]').plot.data")
    assert chat == [[minute // 1000], [2]]

    x, viewers, peaks = page.evaluate(f"{PLOT}.data")
    assert len(x) == END * MIN // BUCKET_MS
    assert viewers == [expected_viewers(t * 1000) for t in x]
    assert max(peaks) == 3
    assert 0 < page.evaluate(f"{PLOT}.width") <= 390  # fits the screen
    assert page.evaluate(f"{PLOT}.root.querySelector('canvas') !== null")
    table = page.evaluate(TABLE_ROWS)
    assert table == [[t * 1000, v, p] for t, v, p in zip(x, viewers, peaks, strict=True)]
    expect(page.locator("[data-figure=peakViewers]")).to_have_text("3")


def test_a_live_sessions_curve_grows_without_a_reload(
    page, creator, password, livekit, live_server, settings
):
    settings.WATCH_POLL_SECONDS = 2
    now_ms = int(time.time() * 1000)
    start = now_ms - 10 * MIN
    session = play(creator.stream, start=start, visits=[("101", 1, None)], end=None)
    log_in(page, "alice", password)
    page.goto(f"/dashboard/analytics/{session.pk}/")
    wait_until(page, PLOT)
    before = page.evaluate(f"{PLOT}.data[0].length")
    assert page.evaluate(f"{PLOT}.data[1].at(-1)") == 1

    # A second viewer joins (in the next interval, so the curve has a point more whenever the page polls):
    # LiveKit's webhook reaches the server, the page's next poll draws it.
    now_ms = int(time.time() * 1000)
    joined = now_ms - now_ms % BUCKET_MS + BUCKET_MS + 500
    status, _ = http_post(
        live_server.url,
        participant_event(livekit, "participant_joined", creator.stream, "202", joined_at_ms=joined),
    )
    assert status == 200

    wait_until(page, f"{PLOT}.data[1].at(-1) === 2")
    x, viewers, _ = page.evaluate(f"{PLOT}.data")
    assert len(x) > before
    assert viewers[x.index((joined - joined % BUCKET_MS) // 1000)] == 2
    expect(page.locator("[data-figure=peakViewers]")).to_have_text("2")
    assert page.evaluate(TABLE_ROWS)[-1][1:] == [2, 2]
