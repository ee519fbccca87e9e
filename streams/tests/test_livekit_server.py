"""The door against a real LiveKit: the same calls the stand-in tests make, checked on `livekit-server --dev`.

Run with a local server (https://docs.livekit.io/home/self-hosting/local/):

    livekit-server --dev &
    LIVEKIT_SERVER_URL=ws://127.0.0.1:7880 .venv/bin/pytest -m livekit_server

LIVEKIT_SERVER_API_KEY / LIVEKIT_SERVER_API_SECRET default to the dev server's devkey / secret. Without a
reachable server (CI has none) the same tests run against the stand-in, so they always run and the stand-in
is held to what the real server answers. A dev server has no ingress service, so ingress calls are checked
for failing the door's way only.
"""

import os
import uuid

import pytest

from conftest import livekit_server_reachable
from streams import livekit as lk

pytestmark = pytest.mark.livekit_server


@pytest.fixture
def real_livekit(request, settings):
    if not livekit_server_reachable():
        request.getfixturevalue("livekit")  # the stand-in, with settings pointing at it
    else:
        settings.LIVEKIT_URL = os.environ["LIVEKIT_SERVER_URL"]
        settings.LIVEKIT_API_KEY = os.environ.get("LIVEKIT_SERVER_API_KEY", "devkey")
        settings.LIVEKIT_API_SECRET = os.environ.get("LIVEKIT_SERVER_API_SECRET", "secret")
    settings.LIVEKIT_ROOM_PREFIX = f"streamit-test-{uuid.uuid4().hex[:8]}-"
    return settings.LIVEKIT_URL


def test_rooms_are_listed(real_livekit):
    rooms = lk.room_list()

    assert isinstance(rooms, list)
    assert all(isinstance(room, lk.Room) for room in rooms)
    assert not [room for room in rooms if room.name.startswith(lk.room_name_for(0)[:-1])]


def test_a_room_nobody_joined_has_nobody(real_livekit):
    assert lk.participant_list(room=lk.room_name_for(7)) == []


def test_many_rooms_are_listed_in_one_batch(real_livekit):
    rooms = [lk.room_name_for(n) for n in range(20)]

    assert lk.participant_list_many(rooms=rooms) == {room: [] for room in rooms}


def test_updating_someone_absent_is_not_found(real_livekit):
    with pytest.raises(lk.LiveKitError) as caught:
        lk.participant_update(room=lk.room_name_for(7), identity="99", can_publish_data=True)

    assert caught.value.kind == lk.NOT_FOUND


def test_removing_someone_absent_and_closing_an_unknown_room_are_done(real_livekit):
    lk.participant_remove(room=lk.room_name_for(7), identity="99")
    lk.room_delete(room=lk.room_name_for(7))


def test_a_wrong_secret_is_rejected(real_livekit, settings):
    settings.LIVEKIT_API_SECRET = "another-secret-that-is-at-least-32-bytes-long"

    with pytest.raises(lk.LiveKitError) as caught:
        lk.room_list()

    assert caught.value.kind == lk.REJECTED
    assert settings.LIVEKIT_API_SECRET not in str(caught.value)


def test_ingress_calls_answer_or_fail_the_doors_way(real_livekit):
    try:
        ingresses = lk.ingress_list()
    except lk.LiveKitError as error:  # no ingress service beside a dev server
        assert error.kind in (lk.UNAVAILABLE, lk.REJECTED, lk.NOT_FOUND)
    else:
        assert all(isinstance(ingress, lk.Ingress) for ingress in ingresses)
