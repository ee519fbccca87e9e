"""prune_analytics_facts: old connections go, the series stays, and an old session no longer changes."""

from django.core.management import call_command

from analytics.models import RoomReset, SeriesPoint, SessionStats, ViewerSpan
from analytics.services import viewer_span_leave

from .conftest import play
from .story import MIN

DAY = 24 * 3600_000


def test_it_deletes_old_facts_and_keeps_the_series(creator, capsys):
    import time

    now = int(time.time() * 1000)
    old = play(creator.stream, start=now - 40 * DAY, visits=[("101", 1, 30)], end=60)
    recent = play(creator.stream, start=now - 3 * 3600_000, visits=[("102", 1, 30)], end=60)
    before = list(SeriesPoint.objects.filter(session=old).values_list("viewers", flat=True))

    call_command("prune_analytics_facts")

    assert "Deleted 2 analytics fact(s)" in capsys.readouterr().out  # 101's connection, the old reset
    assert list(ViewerSpan.objects.values_list("identity", flat=True)) == ["102"]
    assert RoomReset.objects.count() == 1
    assert list(SeriesPoint.objects.filter(session=old).values_list("viewers", flat=True)) == before
    assert SessionStats.objects.get(session=old).presence_ms == 29 * MIN

    # A delivery about the old session arriving now changes nothing there (its facts are gone).
    joined = now - 40 * DAY + 10 * MIN
    viewer_span_leave(
        stream=creator.stream, identity="103", joined_at_ms=joined, left_at_ms=joined + 10 * MIN
    )
    assert list(SeriesPoint.objects.filter(session=old).values_list("viewers", flat=True)) == before
    assert SessionStats.objects.get(session=recent).presence_ms == 29 * MIN
