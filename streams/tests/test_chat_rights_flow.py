"""Chat rights change live when the creator or a viewer acts through the API (issue: live chat rules)."""

import time

import pytest
from rest_framework.test import APIClient

from accounts.models import Follow
from streamit.celery import app as celery_app
from streams import livekit as lk


class CommittingClient(APIClient):
    """Runs what the request queued with transaction.on_commit, as the real commit would (tests run
    inside a transaction that never commits)."""

    capture = None

    def generic(self, *args, **kwargs):
        if self.capture is None:
            return super().generic(*args, **kwargs)
        with self.capture(execute=True):
            return super().generic(*args, **kwargs)


def api_client(user) -> APIClient:
    client = CommittingClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(autouse=True)
def _commit_callbacks(django_capture_on_commit_callbacks):
    CommittingClient.capture = staticmethod(django_capture_on_commit_callbacks)
    yield
    CommittingClient.capture = None


def rights(livekit, room) -> dict[str, bool]:
    return {p.identity: p.permission.can_publish_data for p in livekit.participants(room)}


@pytest.fixture
def room(livekit, creator, viewer, outsider):
    """bob follows alice; bob, charlie and alice's self-view are connected with chat."""
    Follow.objects.create(follower=viewer, following=creator)
    room = lk.room_name_for(creator.pk)
    for identity in (f"Host-{creator.pk}", str(viewer.pk), str(outsider.pk)):
        livekit.participant_join(room, identity)
    return room


def test_followers_only_from_the_api_takes_chat_from_non_followers(livekit, creator, viewer, outsider, room):
    response = api_client(creator).put(
        "/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json"
    )
    assert response.status_code == 200
    assert rights(livekit, room) == {
        f"Host-{creator.pk}": True,
        str(viewer.pk): True,
        str(outsider.pk): False,
    }
    assert all(p.permission.can_subscribe for p in livekit.participants(room))


def test_unfollowing_takes_chat_from_that_viewer_only(livekit, creator, viewer, outsider, room):
    api_client(creator).put("/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json")
    api_client(viewer).delete(f"/api/users/{creator.username}/follow")
    assert rights(livekit, room)[str(viewer.pk)] is False
    api_client(outsider).post(f"/api/users/{creator.username}/follow")
    assert rights(livekit, room)[str(outsider.pk)] is True
    assert all(p.permission.can_subscribe for p in livekit.participants(room))


def test_chat_off_and_on_again_restores_each_right(livekit, creator, viewer, outsider, room):
    alice = api_client(creator)
    alice.put("/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json")
    alice.put("/api/stream/chat-settings", {"isChatEnabled": False}, format="json")
    assert set(rights(livekit, room).values()) == {False}
    alice.put("/api/stream/chat-settings", {"isChatEnabled": True}, format="json")
    assert rights(livekit, room) == {
        f"Host-{creator.pk}": True,
        str(viewer.pk): True,
        str(outsider.pk): False,
    }


def test_blocking_removes_the_viewer_from_the_room(livekit, creator, outsider, room):
    assert api_client(creator).post(f"/api/users/{outsider.username}/block").status_code == 201
    assert str(outsider.pk) not in rights(livekit, room)


def test_a_settings_change_survives_livekit_being_down(livekit, creator, outsider, room):
    livekit.set_fault("*", "down")
    response = api_client(creator).put(
        "/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json"
    )
    assert response.status_code == 200
    creator.stream.refresh_from_db()
    assert creator.stream.is_chat_followers_only is True
    livekit.clear_faults()
    assert rights(livekit, room)[str(outsider.pk)] is True  # not yet applied

    from streams.chat_rights import chat_rights_fan_out

    chat_rights_fan_out.delay(creator.pk)  # the retry
    assert rights(livekit, room)[str(outsider.pk)] is False


@pytest.fixture
def celery_worker(settings):
    """A real Celery worker (in a thread) on the Redis at 127.0.0.1, instead of eager tasks."""
    from celery.contrib.testing.worker import start_worker

    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", "result_backend")}
    celery_app.conf.update(
        broker_url="redis://127.0.0.1:6379/14", task_always_eager=False, result_backend=None
    )
    _forget_connections()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield
    celery_app.conf.update(saved)
    _forget_connections()


def _forget_connections():
    # Celery caches its broker connection pool from the first use: a change of broker_url needs it gone.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_thousand_viewers_are_updated_by_a_worker_after_the_request_returns(
    livekit, creator, celery_worker, settings
):
    from accounts.models import User

    room = lk.room_name_for(creator.pk)
    followers = User.objects.bulk_create(
        [User(username=f"fan{i:04d}", email=f"f{i}@example.com") for i in range(1000)]
    )
    Follow.objects.bulk_create([Follow(follower=u, following=creator) for u in followers])
    for user in followers:
        livekit.participant_join(room, str(user.pk), wait=False)
    for n in range(1000):
        livekit.participant_join(room, f"guest-1764000000000-{n:08x}", wait=False)
    livekit.flush()
    assert len(livekit.participants(room)) == 2000
    settings.LIVEKIT_TIMEOUT = 10
    livekit.slow_seconds = 1.5
    livekit.set_fault("ListParticipants", "slow")  # the fan-out's first step takes 1.5 s

    response = api_client(creator).put(
        "/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json"
    )

    assert response.status_code == 200
    assert livekit.calls["UpdateParticipant"] == 0  # the request did not wait for the fan-out
    deadline = time.monotonic() + 60
    while livekit.calls["UpdateParticipant"] < 1000 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    assert livekit.calls["ListParticipants"] == 1
    assert livekit.calls["UpdateParticipant"] == 1000  # only the guests lose chat; followers keep it
    now = rights(livekit, room)
    assert sum(now.values()) == 1000
    assert not any(now[f"guest-1764000000000-{n:08x}"] for n in range(1000))
    assert all(p.permission.can_subscribe for p in livekit.participants(room))
