"""GET /api/stream/analytics and /api/stream/analytics/<session>: figures, series, CSV, who may ask."""

import csv
import io
import time
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import Follow
from analytics.models import BUCKET_MS, SeriesPoint
from analytics.services import from_ms
from conftest import make_user

from .conftest import play
from .story import END, MIN, T0, expected_viewers

LIST = reverse("analytics-api:list")


def _session_url(session, fmt: str = "") -> str:
    return reverse("analytics-api:session", args=[session.pk]) + (f"?format={fmt}" if fmt else "")


M5 = (T0 + 5 * MIN) // MIN * MIN  # the calendar minute five minutes in
M70 = (T0 + 70 * MIN) // MIN * MIN


def _say(session, *at_ms: int) -> None:
    """Chat lines said at these times."""
    from chat.models import ChatMessage

    for at in at_ms:
        ChatMessage.objects.create(
            session=session,
            identity="101",
            name="bob",
            role="viewer",
            text="hi",
            created_at=from_ms(at),
        )


def test_it_lists_the_days_and_the_sessions(client, creator, session):
    _say(session, M5 + 1_000, M5 + 59_000, M70 + 30_000)
    fan = make_user("fan")
    follow = Follow.objects.create(follower=fan, following=creator)
    Follow.objects.filter(pk=follow.pk).update(created_at=session.started_at + timedelta(minutes=5))
    client.force_login(creator)

    body = client.get(LIST).json()

    assert len(body["days"]) == 30
    assert body["chatMessagesStored"] is True
    [row] = body["sessions"]
    assert row["id"] == session.pk and row["live"] is False
    assert row["durationSeconds"] == END * 60
    assert (row["peakViewers"], row["uniqueViewers"], row["minutesWatched"]) == (3, 3, 189.0)
    assert row["averageViewers"] == pytest.approx(1.575, abs=0.01)  # 189 minutes over 120
    assert (row["followersGained"], row["chatMessages"]) == (1, 3)
    today = body["days"][-1]
    assert sum(d["hoursStreamed"] for d in body["days"]) == 2.0
    assert sum(d["minutesWatched"] for d in body["days"]) == 189.0
    assert sum(d["followersGained"] for d in body["days"]) == 1 and "date" in today


def test_it_gives_a_sessions_series(client, creator, session):
    _say(session, M5 + 1_000, M5 + 59_000, M70 + 30_000)
    client.force_login(creator)

    body = client.get(_session_url(session)).json()

    assert body["intervalSeconds"] == 15
    assert body["session"]["peakViewers"] == 3
    points = body["points"]
    assert [p["t"] for p in points] == list(range(T0, T0 + END * MIN, BUCKET_MS))
    assert [p["viewers"] for p in points] == [expected_viewers(p["t"]) for p in points]
    assert body["session"]["chatMessages"] == 3
    assert body["chat"] == [{"t": M5, "messages": 2}, {"t": M70, "messages": 1}]


def test_it_downloads_the_series_as_csv(client, creator, session):
    client.force_login(creator)

    response = client.get(_session_url(session, "csv"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith(f'attachment; filename="session-{session.pk}-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["interval_start_utc", "viewers", "peak"]
    assert len(rows) == 1 + END * MIN // BUCKET_MS
    assert rows[1 + 25 * 4][1:] == ["3", "3"]  # minute 25: 101, 102 and the guest


def test_a_live_sessions_minutes_and_curve_run_until_now(client, creator):
    session = play(creator.stream, visits=[("101", 1, None)], end=None)
    client.force_login(creator)

    body = client.get(_session_url(session)).json()["session"]

    assert body["live"] is True
    # Three simulated hours ago, one viewer joined a minute in and is still there.
    assert body["minutesWatched"] == pytest.approx(179, abs=1)
    # The curve runs on to now at the count that last changed (the rows stop at the last change).
    points = client.get(_session_url(session)).json()["points"]
    now = int(time.time() * 1000)
    assert points[-1]["t"] in (now - now % BUCKET_MS, now - now % BUCKET_MS - BUCKET_MS)
    assert {(p["viewers"], p["peak"]) for p in points[4 * 2 :]} == {(1, 1)}
    assert SeriesPoint.objects.filter(session=session).count() < len(points)


def test_an_unknown_session_is_404(client, creator):
    client.force_login(creator)

    response = client.get(reverse("analytics-api:session", args=[999999]))

    assert response.status_code == 404
    assert response.json() == {"detail": "No such session."}


@pytest.mark.parametrize("fmt", ["", "csv"])
def test_it_requires_sign_in(client, session, fmt):
    for url in (LIST, _session_url(session, fmt)):
        response = client.get(url)
        assert response.status_code == 401, url
        assert "detail" in response.json()  # an error is JSON even when CSV was asked for


def test_a_viewer_is_refused(client, viewer, session):
    client.force_login(viewer)

    for url in (LIST, _session_url(session), _session_url(session, "csv")):
        assert client.get(url).status_code == 403, url


def test_another_creator_sees_only_their_own(client, other_creator, session):
    client.force_login(other_creator)

    assert client.get(LIST).json()["sessions"] == []
    for url in (_session_url(session), _session_url(session, "csv")):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json() == {"detail": "This session is another creator's."}


def test_a_pending_creator_is_refused(client, pending_creator, session):
    client.force_login(pending_creator)

    assert client.get(LIST).status_code == 403
    assert client.get(_session_url(session)).status_code == 403


def test_writing_is_not_allowed(client, creator, session):
    client.force_login(creator)

    assert client.post(LIST).status_code == 405
    assert client.delete(_session_url(session)).status_code == 405


def test_a_session_ended_without_a_webhook_counts_its_viewers_to_its_end(client, creator):
    from streams import live

    # Closed by the site itself (a revoked creator, a deleted key): no ingress_ended rebuilt the series.
    session = play(creator.stream, visits=[("101", 1, None)], end=None)
    live.stream_go_offline(stream=creator.stream, at_ms=T0 + 30 * MIN)
    client.force_login(creator)

    body = client.get(_session_url(session)).json()["session"]

    assert (body["live"], body["minutesWatched"], body["durationSeconds"]) == (False, 29.0, 30 * 60)


def test_the_schema_lists_both_operations(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    assert list(paths["/api/stream/analytics"]) == ["get"]
    session = paths["/api/stream/analytics/{session_id}"]["get"]
    assert set(session["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"401", "403", "404"} <= set(session["responses"])
