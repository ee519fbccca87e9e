"""manage.py simulate_stream drives the stand-in, whose webhooks then reach a running site."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import make_creator
from streams import livekit as lk


@pytest.fixture
def site(live_server, livekit):
    """The stand-in as in development: it delivers its webhooks to the running site."""
    livekit.site_url = live_server.url
    return live_server


@pytest.fixture
def stream(transactional_db, livekit):
    user = make_creator("alice")
    ingress = lk.ingress_create(user_id=user.pk, username=user.username, ingress_type="RTMP")
    stream = user.stream
    stream.ingress_id = ingress.ingress_id
    stream.stream_key = ingress.stream_key
    stream.save()
    return stream


def _status(stream) -> tuple[bool, int]:
    stream.refresh_from_db()
    return stream.is_live, stream.viewer_count


def test_the_three_steps_take_the_stream_live_with_viewers_and_back(site, livekit, stream, client):
    call_command("simulate_stream", "alice", "start")
    livekit.flush()
    assert _status(stream) == (True, 0)

    call_command("simulate_stream", "alice", "viewers", "3")
    livekit.flush()
    assert _status(stream) == (True, 3)

    call_command("simulate_stream", "alice", "viewers", "1")
    livekit.flush()
    assert _status(stream) == (True, 1)

    call_command("simulate_stream", "alice", "stop")
    livekit.flush()
    assert _status(stream) == (False, 0)


def test_it_needs_a_stream_key_first(site, livekit, transactional_db):
    make_creator("alice")

    with pytest.raises(CommandError, match="no stream key"):
        call_command("simulate_stream", "alice", "start")


def test_it_names_the_url_when_no_stand_in_answers(livekit, stream, settings):
    settings.LIVEKIT_URL = "ws://127.0.0.1:9"

    with pytest.raises(CommandError, match="127.0.0.1:9"):
        call_command("simulate_stream", "alice", "start")


def test_an_unknown_user_is_refused(db):
    with pytest.raises(CommandError, match="has no stream"):
        call_command("simulate_stream", "nobody", "start")


def test_start_with_a_file_makes_the_encoder_play_it(site, livekit, stream, tmp_path):
    from livekit_standin.tests.test_media import make_video

    clip = tmp_path / "clip.mp4"
    make_video(clip)
    call_command("simulate_stream", "alice", "start", "--file", str(clip))
    livekit.flush()
    assert _status(stream) == (True, 0)
    [publisher] = livekit.publishers_in(lk.room_name_for(stream.user_id))
    assert publisher.video.path == str(clip.resolve())

    (tmp_path / "broken.mp4").write_text("not a video")
    call_command("simulate_stream", "alice", "stop")
    with pytest.raises(CommandError, match="cannot play that file"):
        call_command("simulate_stream", "alice", "start", "--file", str(tmp_path / "broken.mp4"))
