"""Chat rights change live when the creator or a viewer acts through the API (issue: live chat rules)."""

import time

import pytest
from rest_framework.test import APIClient

from accounts.models import Follow
from streams import livekit as lk
from streams.identities import host_identity


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
    client.force_login(user)
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
    for identity in (host_identity(creator.pk), str(viewer.pk), str(outsider.pk)):
        livekit.participant_join(room, identity)
    return room


def test_followers_only_from_the_api_takes_chat_from_non_followers(livekit, creator, viewer, outsider, room):
    response = api_client(creator).put(
        "/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json"
    )
    assert response.status_code == 200
    assert rights(livekit, room) == {
        host_identity(creator.pk): True,
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
        host_identity(creator.pk): True,
        str(viewer.pk): True,
        str(outsider.pk): False,
    }


def test_blocking_removes_the_viewer_from_the_room(livekit, creator, outsider, room):
    assert api_client(creator).post(f"/api/users/{outsider.username}/block").status_code == 201
    assert str(outsider.pk) not in rights(livekit, room)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_fan_out_that_meets_livekit_down_is_retried_by_the_worker(
    livekit, creator, viewer, outsider, room, task_worker
):
    """The setting commits while LiveKit is down; the worker's task fails and Celery retries it (with
    backoff) until LiveKit answers, with nobody calling it again. Catches: deleting the retry
    (autoretry_for), or retrying a fan-out only by hand."""
    livekit.set_fault("*", "down")
    response = api_client(creator).put(
        "/api/stream/chat-settings", {"isChatFollowersOnly": True}, format="json"
    )
    assert response.status_code == 200
    creator.stream.refresh_from_db()
    assert creator.stream.is_chat_followers_only is True  # the change stands
    wait_for(lambda: livekit.calls["ListParticipants"] >= 1)  # the first try met LiveKit down
    livekit.clear_faults()

    wait_for(lambda: rights(livekit, room)[str(outsider.pk)] is False, seconds=30)

    assert livekit.calls["ListParticipants"] >= 2
    assert rights(livekit, room) == {
        host_identity(creator.pk): True,
        str(viewer.pk): True,
        str(outsider.pk): False,
    }


def wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_thousand_viewers_are_updated_by_a_worker_after_the_request_returns(
    livekit, creator, task_worker, settings
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
