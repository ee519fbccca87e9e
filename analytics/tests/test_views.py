"""/dashboard/analytics/ and /dashboard/analytics/<session>/: what a creator reads, and who may."""

import pytest
from django.urls import reverse

from .conftest import play
from .story import END, MIN, T0

OVERVIEW = reverse("analytics:overview")


def _page(session) -> str:
    return reverse("analytics:session", args=[session.pk])


def test_the_dashboard_links_to_analytics(client, creator):
    client.force_login(creator)

    assert OVERVIEW in client.get(reverse("streams:dashboard")).content.decode()


def test_the_overview_lists_sessions_with_their_figures(client, creator, session):
    client.force_login(creator)

    response = client.get(OVERVIEW)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-session="{session.pk}"' in html and _page(session) in html
    row = response.context["sessions"][0]
    assert (row.peak_viewers, row.minutes_watched, row.unique_viewers, row.length) == (
        3,
        189.0,
        3,
        "2 h 00 min",
    )
    assert 'src="/static/vendor/uPlot.iife.min.js"' in html  # our own static files, never a CDN


def test_the_session_page_has_the_figures_chart_data_and_table(client, creator, session):
    client.force_login(creator)

    response = client.get(_page(session))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="analytics-session-data"' in html and "data-analytics-session" in html
    assert html.count("<tr data-t=") == END * MIN // 15_000
    assert f'<tr data-t="{T0 + 25 * MIN}"><td>' in html
    assert response.context["chart"]["viewers"][25 * 4] == 3
    assert "data-analytics-chat" in html and "No chat messages." in html


def test_it_sends_anonymous_visitors_to_log_in(client, session):
    for url in (OVERVIEW, _page(session)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


def test_a_viewer_is_refused(client, viewer, session):
    client.force_login(viewer)

    for url in (OVERVIEW, _page(session)):
        assert client.get(url).status_code == 403, url


def test_another_creator_cannot_open_a_session_not_theirs(client, other_creator, session):
    client.force_login(other_creator)

    assert client.get(_page(session)).status_code == 403
    assert f'data-session="{session.pk}"' not in client.get(OVERVIEW).content.decode()


def test_an_unknown_session_is_404(client, creator):
    client.force_login(creator)

    assert client.get(reverse("analytics:session", args=[999999])).status_code == 404


@pytest.mark.parametrize("count", [1, 12])
def test_the_overview_reads_a_fixed_number_of_queries(client, creator, count, django_assert_max_num_queries):
    """The sessions' figures are joined and their followers a subquery: no query per session (N+1)."""
    for n in range(count):  # oldest first: the live state ignores a start older than the last change
        play(creator.stream, start=T0 - (count - n) * 3600_000, visits=[("101", 1, 5)], end=10)
    client.force_login(creator)

    with django_assert_max_num_queries(6):  # session, user, stream, sessions, follows by day (+ savepoint)
        response = client.get(OVERVIEW)
    assert len(response.context["sessions"]) == count


def test_the_session_page_reads_a_fixed_number_of_queries(
    client, creator, session, django_assert_max_num_queries
):
    client.force_login(creator)

    with django_assert_max_num_queries(6):  # session, user, stream, the session with counts, rows, chat
        client.get(_page(session))
