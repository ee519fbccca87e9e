"""Caches on the hot paths: they do save work, and never serve a stale block or a stale right to chat.

The host behind a token request is cached (streams.selectors); these tests commit for real
(``transaction=True``), so the invalidation that runs on commit runs here as in production.
"""

import time

import pytest
from django.db import transaction
from livekit import api as lk_api
from rest_framework.test import APIClient

from accounts.models import Block, Follow
from streams import selectors, services
from streams.models import Stream
from viewers.api import LIVE_LIST_CACHE_SECONDS


def token(client, livekit, **body):
    response = client.post("/api/viewer/token", body, format="json")
    if response.status_code != 200:
        return response.status_code
    return lk_api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(response.json()["token"])


def may_chat(livekit, client=None) -> bool:
    return token(client or APIClient(), livekit, username="alice").video.can_publish_data


@pytest.fixture
def bob(viewer):
    client = APIClient()
    client.force_login(viewer)
    return client


@pytest.fixture
def alice(creator):
    client = APIClient()
    client.force_login(creator)
    return client


# --- The host behind a token ---------------------------------------------------------------------------


def test_a_guest_token_costs_no_query_once_the_host_is_cached(
    host_cache, livekit, creator, django_assert_num_queries
):
    # Catches: deleting the host cache (every token would read the stream).
    token(APIClient(), livekit, username="alice")  # warms the host cache
    with django_assert_num_queries(0):
        assert token(APIClient(), livekit, username="alice").video.room == str(creator.pk)
    with django_assert_num_queries(0):
        assert token(APIClient(), livekit, hostId=creator.pk).video.room == str(creator.pk)


def test_token_query_budgets(livekit, creator, viewer, django_assert_max_num_queries):
    cold = APIClient()
    with django_assert_max_num_queries(3):
        assert cold.post("/api/viewer/token", {"username": "alice"}, format="json").status_code == 200
    signed_in = APIClient()
    signed_in.force_login(viewer)  # a real session: its lookup and the user's are counted
    with django_assert_max_num_queries(5):  # session, user, host (cold), follow/block facts
        assert signed_in.post("/api/viewer/token", {"hostId": creator.pk}, format="json").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_chat_settings_change_reaches_the_very_next_token(host_cache, livekit, creator, alice):
    # Catches: deleting the invalidation where chat settings are written (host_changed in the service).
    assert may_chat(livekit) is True  # cached now
    alice.put("/api/stream/chat-settings", {"isChatEnabled": False}, format="json")
    assert may_chat(livekit) is False
    alice.put(
        "/api/stream/chat-settings", {"isChatEnabled": True, "isChatFollowersOnly": True}, format="json"
    )
    assert may_chat(livekit) is False
    alice.put("/api/stream/chat-settings", {"isChatFollowersOnly": False}, format="json")
    assert may_chat(livekit) is True


@pytest.mark.django_db(transaction=True)
def test_a_change_is_seen_once_it_commits_and_not_before(host_cache, livekit, creator):
    # Catches: invalidating before the commit (a request in between would cache the old row for minutes).
    assert may_chat(livekit) is True
    with transaction.atomic():
        services.stream_chat_settings_update(stream=Stream.objects.get(user=creator), is_chat_enabled=False)
        generation = selectors.cache.get(selectors._generation_key(creator.pk))
    assert selectors.cache.get(selectors._generation_key(creator.pk)) != generation  # bumped at commit
    assert may_chat(livekit) is False


@pytest.mark.django_db(transaction=True)
def test_a_read_that_raced_a_change_cannot_bring_the_old_row_back(host_cache, livekit, creator, monkeypatch):
    """A token request reads the host just before a change commits and caches it just after: the next
    request must not be served that old row. Catches: a cache keyed without the generation (a plain
    delete on commit would let the racing request put chat back for HOST_CACHE_SECONDS)."""
    read_row = selectors._host_row

    def row_then_the_change_commits(**lookup):
        old = read_row(**lookup)  # the racing request has read the row...
        services.stream_chat_settings_update(stream=Stream.objects.get(user=creator), is_chat_enabled=False)
        return old  # ...and caches it after the change committed

    monkeypatch.setattr(selectors, "_host_row", row_then_the_change_commits)
    assert token(APIClient(), livekit, hostId=creator.pk).video.can_publish_data is True  # the race
    monkeypatch.setattr(selectors, "_host_row", read_row)

    assert token(APIClient(), livekit, hostId=creator.pk).video.can_publish_data is False
    assert may_chat(livekit) is False


@pytest.mark.django_db(transaction=True)
def test_a_revoked_creator_gets_no_more_tokens(host_cache, livekit, creator, staff):
    # Catches: deleting the invalidation in stream_shutdown (the cached host would keep issuing tokens).
    assert token(APIClient(), livekit, username="alice").identity
    services.creator_revoke(user=creator, reviewer=staff)
    assert token(APIClient(), livekit, username="alice") == 404
    assert token(APIClient(), livekit, hostId=creator.pk) == 404


@pytest.mark.django_db(transaction=True)
def test_a_renamed_creator_is_not_found_by_the_old_name(livekit, creator, staff, client):
    # Catches: serving the host by a cached name after a rename.
    assert token(APIClient(), livekit, username="alice").identity
    client.force_login(staff)
    form = client.get(f"/admin/accounts/user/{creator.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(username="alicia", date_joined_0="2026-01-01", date_joined_1="00:00:00")
    data.pop("date_joined", None)
    data.pop("groups", None), data.pop("user_permissions", None), data.pop("last_login", None)
    client.post(f"/admin/accounts/user/{creator.pk}/change/", data)
    assert Stream.objects.get(user=creator).user.username == "alicia"
    assert token(APIClient(), livekit, username="alice") == 404
    assert token(APIClient(), livekit, username="alicia").video.room == str(creator.pk)


def test_a_block_takes_effect_on_the_very_next_token(bob, alice, livekit, creator, viewer):
    # Catches: caching who the caller is to the creator (follows, blocks) with the host.
    assert token(bob, livekit, username="alice").identity == str(viewer.pk)
    alice.post("/api/users/bob/block")
    assert token(bob, livekit, username="alice") == 404


def test_a_block_by_the_viewer_also_hides_the_creator(bob, livekit, creator, viewer):
    assert token(bob, livekit, username="alice").identity == str(viewer.pk)
    Block.objects.create(blocker=viewer, blocked=creator)
    assert token(bob, livekit, username="alice") == 404


def test_an_unfollow_takes_effect_on_the_very_next_token(bob, livekit, creator, viewer):
    Stream.objects.filter(user=creator).update(is_chat_followers_only=True)
    Follow.objects.create(follower=viewer, following=creator)
    assert may_chat(livekit, bob) is True
    bob.delete("/api/users/alice/follow")
    assert may_chat(livekit, bob) is False


# --- The live list -------------------------------------------------------------------------------------


def test_a_crowd_of_guests_shares_one_page_of_the_live_list(client, creator, django_assert_num_queries):
    # Catches: deleting the live-list cache (each guest would cost the list and count queries).
    Stream.objects.filter(user=creator).update(is_live=True)
    first = client.get("/api/viewer/live").json()
    Stream.objects.filter(user=creator).update(is_live=False)  # not seen while the page is shared
    with django_assert_num_queries(0):
        for _ in range(5):
            assert client.get("/api/viewer/live").json() == first
    assert first["count"] == 1


def test_the_shared_page_expires_within_the_cache_time(client, creator):
    # Catches: caching the live list for longer than LIVE_LIST_CACHE_SECONDS.
    assert client.get("/api/viewer/live").json()["count"] == 0  # cached: empty
    Stream.objects.filter(user=creator).update(is_live=True)
    time.sleep(LIVE_LIST_CACHE_SECONDS + 0.2)
    assert client.get("/api/viewer/live").json()["count"] == 1


def test_the_shared_page_is_for_guests_only(client, bob, creator, viewer):
    # Catches: serving the shared page to signed-in viewers (a block would not hide the creator).
    Stream.objects.filter(user=creator).update(is_live=True)
    assert client.get("/api/viewer/live").json()["count"] == 1  # cached for guests
    Block.objects.create(blocker=creator, blocked=viewer)
    assert bob.get("/api/viewer/live").json()["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_staff_switching_chat_off_in_the_admin_reaches_the_very_next_token(livekit, creator, staff, client):
    # Catches: admin edits of chat settings that skip the service (and so the invalidation).
    assert may_chat(livekit) is True  # cached now
    stream = Stream.objects.get(user=creator)
    client.force_login(staff)
    response = client.post(
        f"/admin/streams/stream/{stream.pk}/change/",
        {"title": stream.title, "description": stream.description, "is_chat_delayed": "on"},
    )  # is_chat_enabled left out of the form data: unticked
    assert response.status_code == 302, response.content[:500]
    assert Stream.objects.get(pk=stream.pk).is_chat_enabled is False
    assert may_chat(livekit) is False


def test_asking_for_unknown_hosts_leaves_no_key_for_good(host_cache, livekit, db):
    # Catches: generations stored without an expiry (any hostId a client invents would stay in Redis).
    from django.core.cache import cache

    assert token(APIClient(), livekit, hostId=987654) == 404
    assert cache.get(selectors._generation_key(987654)) is not None
    if host_cache == "redis":
        assert 0 < cache.ttl(selectors._generation_key(987654)) <= selectors.GENERATION_SECONDS
