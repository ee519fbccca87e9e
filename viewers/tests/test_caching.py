"""Caches on the hot paths never serve a stale block or a stale right to chat; query budgets hold."""

import time

import pytest
from livekit import api as lk_api
from rest_framework.test import APIClient

from accounts.models import Follow
from streams.models import Stream
from viewers.api import LIVE_LIST_CACHE_SECONDS


def token(client, livekit, **body):
    response = client.post("/api/viewer/token", body, format="json")
    if response.status_code != 200:
        return response.status_code
    return lk_api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(response.json()["token"])


@pytest.fixture
def bob(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


def test_a_guest_token_costs_no_query_once_the_host_is_cached(
    client, livekit, creator, django_assert_max_num_queries
):
    token(APIClient(), livekit, username="alice")  # warms the host cache
    with django_assert_max_num_queries(0):
        assert token(APIClient(), livekit, username="alice").video.room == str(creator.pk)


def test_token_query_budgets(livekit, creator, viewer, django_assert_max_num_queries):
    cold = APIClient()
    with django_assert_max_num_queries(3):
        assert cold.post("/api/viewer/token", {"username": "alice"}, format="json").status_code == 200
    signed_in = APIClient()
    signed_in.force_login(viewer)  # a real session: its lookup and the user's are counted
    with django_assert_max_num_queries(5):  # session, user, host (cold), follow/block facts
        assert signed_in.post("/api/viewer/token", {"hostId": creator.pk}, format="json").status_code == 200


def test_a_block_takes_effect_on_the_very_next_token(bob, livekit, creator, viewer):
    assert token(bob, livekit, username="alice").identity == str(viewer.pk)
    alice = APIClient()
    alice.force_authenticate(creator)
    alice.post("/api/users/bob/block")
    assert token(bob, livekit, username="alice") == 404


def test_an_unfollow_takes_effect_on_the_very_next_token(bob, livekit, creator, viewer):
    Stream.objects.filter(user=creator).update(is_chat_followers_only=True)
    Follow.objects.create(follower=viewer, following=creator)
    assert token(bob, livekit, username="alice").video.can_publish_data is True
    bob.delete("/api/users/alice/follow")
    assert token(bob, livekit, username="alice").video.can_publish_data is False


def test_a_chat_settings_change_takes_effect_on_the_very_next_token(livekit, creator):
    guest = APIClient()
    assert token(guest, livekit, username="alice").video.can_publish_data is True  # cached now
    alice = APIClient()
    alice.force_authenticate(creator)
    alice.put("/api/stream/chat-settings", {"isChatEnabled": False}, format="json")
    assert token(guest, livekit, username="alice").video.can_publish_data is False
    alice.put(
        "/api/stream/chat-settings", {"isChatEnabled": True, "isChatFollowersOnly": True}, format="json"
    )
    assert token(guest, livekit, username="alice").video.can_publish_data is False
    alice.put("/api/stream/chat-settings", {"isChatFollowersOnly": False}, format="json")
    assert token(guest, livekit, username="alice").video.can_publish_data is True


def test_a_revoked_creator_gets_no_more_tokens(livekit, creator, staff):
    from streams.services import creator_revoke

    assert token(APIClient(), livekit, username="alice").identity
    creator_revoke(user=creator, reviewer=staff)
    assert token(APIClient(), livekit, username="alice") == 404


def test_a_go_live_shows_on_the_live_list_within_the_cache_time(client, creator):
    assert client.get("/api/viewer/live").json()["count"] == 0  # cached: empty
    Stream.objects.filter(user=creator).update(is_live=True)
    time.sleep(LIVE_LIST_CACHE_SECONDS + 0.2)
    assert client.get("/api/viewer/live").json()["count"] == 1


def test_the_cached_live_list_is_for_anonymous_visitors_only(client, bob, creator, viewer):
    from accounts.models import Block

    Stream.objects.filter(user=creator).update(is_live=True)
    assert client.get("/api/viewer/live").json()["count"] == 1  # cached for anonymous visitors
    Block.objects.create(blocker=creator, blocked=viewer)
    assert bob.get("/api/viewer/live").json()["count"] == 0  # a signed-in viewer never gets the shared page
