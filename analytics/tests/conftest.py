import pytest

from analytics.services import room_reset_record, session_series_rebuild, viewer_span_join, viewer_span_leave
from streams import live
from streams.models import StreamSession

from .story import END, MIN, T0, VISITS


def play(stream, *, start: int = T0, visits=VISITS, end: int | None = END) -> StreamSession:
    """A session told through the services the webhooks call (the webhook path has its own tests)."""
    live.stream_go_live(stream=stream, at_ms=start)
    session = StreamSession.objects.get(stream=stream, ended_at__isnull=True)
    session_series_rebuild(session=session)
    for identity, joined, left in visits:
        viewer_span_join(stream=stream, identity=identity, joined_at_ms=start + joined * MIN)
        if left is not None:
            viewer_span_leave(
                stream=stream,
                identity=identity,
                joined_at_ms=start + joined * MIN,
                left_at_ms=start + left * MIN,
            )
    if end is not None:
        live.stream_go_offline(stream=stream, at_ms=start + end * MIN)
        room_reset_record(stream=stream, at_ms=start + end * MIN)
        session.refresh_from_db()
        session_series_rebuild(session=session)
    return session


@pytest.fixture
def session(creator) -> StreamSession:
    """alice's two-hour session of story.VISITS, ended."""
    return play(creator.stream)
