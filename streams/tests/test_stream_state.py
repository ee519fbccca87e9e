"""The cached stream state behind the status endpoint and the watch page: what it costs, and that no
change is served late. Real commits (``transaction=True``): the invalidation runs on commit, as deployed.
"""

import time

import pytest
import redis
from django.test import Client
from django.urls import reverse

from accounts.models import Block
from streams import live, services, stream_state
from streams.admin import CreatorUserAdmin
from streams.models import Stream

pytestmark = pytest.mark.django_db(transaction=True)

STATUS = "/api/viewer/stream/{}/status"


def status(username: str = "alice", client=None):
    response = (client or Client()).get(STATUS.format(username))
    return response.json() if response.status_code == 200 else response.status_code


def stream_of(creator) -> Stream:
    return Stream.objects.get(user=creator)


@pytest.fixture
def redis_round_trips(host_cache, monkeypatch):
    """Commands sent to Redis (a script is one), counted; None on the development cache."""
    if host_cache != "redis":
        return None
    sent = []
    execute = redis.Redis.execute_command

    def counted(self, *args, **options):
        sent.append(args[0])
        return execute(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", counted)
    return sent


@pytest.fixture
def short_count_window(monkeypatch):
    monkeypatch.setattr(stream_state, "COUNT_SECONDS", 0.3)
    return 0.3


# --- Cost ----------------------------------------------------------------------------------------------


def test_a_warm_status_is_one_cache_read_and_no_query(
    host_cache, redis_round_trips, creator, django_assert_num_queries
):
    # Catches: the status endpoint reading the stream (a query per poll), or more than one round trip.
    assert status() == {"isLive": False, "viewerCount": 0}  # cold: read and stored
    if redis_round_trips is not None:
        redis_round_trips.clear()
    with django_assert_num_queries(0):
        assert status() == {"isLive": False, "viewerCount": 0}
        assert status("ALICE") == {"isLive": False, "viewerCount": 0}
    if redis_round_trips is not None:
        assert len(redis_round_trips) == 2, redis_round_trips  # one per request


def test_a_cold_status_is_one_query_then_none(host_cache, creator, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert status() == {"isLive": False, "viewerCount": 0}
    with django_assert_num_queries(0):
        assert status() == {"isLive": False, "viewerCount": 0}


def test_a_name_the_cache_knows_with_an_old_copy_is_one_query(host_cache, creator, django_assert_num_queries):
    status()
    live.stream_go_live(stream=stream_of(creator))  # retires the copy, not the name
    with django_assert_num_queries(1):
        assert status()["isLive"] is True
    with django_assert_num_queries(0):
        assert status()["isLive"] is True


def test_an_unknown_name_is_not_cached_and_stays_404(host_cache, creator, viewer):
    assert status("nobody") == 404
    assert status("bob") == 404  # a user who is not a creator
    assert status("a b") == 404  # not even a possible username


# --- Changes are served once they commit ---------------------------------------------------------------


def test_going_live_and_offline_reach_the_very_next_poll(host_cache, creator):
    # Catches: deleting stream_state_changed in stream_go_live or stream_go_offline.
    assert status()["isLive"] is False
    live.stream_go_live(stream=stream_of(creator))
    assert status()["isLive"] is True
    live.stream_go_offline(stream=stream_of(creator))
    assert status()["isLive"] is False


def test_a_count_change_is_served_within_the_window_and_costs_no_query_before(
    host_cache, creator, short_count_window, django_assert_num_queries
):
    # Catches: a count bump that invalidates at once (a query per join and poll on a busy room), and one
    # that never invalidates (the count stuck).
    stream = stream_of(creator)
    live.stream_go_live(stream=stream)
    assert status() == status() == {"isLive": True, "viewerCount": 0}  # read, then cached
    live.viewer_join(stream=stream, identity="guest-1", at_ms=live.now_ms())
    with django_assert_num_queries(0):
        assert status()["viewerCount"] in (0, 1)  # the copy is younger than the window
    time.sleep(short_count_window)
    assert status()["viewerCount"] == 1


def test_the_last_count_of_a_burst_lands(host_cache, creator, short_count_window):
    # Catches: a throttle that drops the changes made inside its window (the count left behind for good).
    stream = stream_of(creator)
    status()
    for n in range(5):
        live.viewer_join(stream=stream, identity=f"guest-{n}", at_ms=live.now_ms())
        status()  # polls during the burst store copies that are behind
    live.viewer_leave(stream=stream, identity="guest-0", at_ms=live.now_ms() + 1000)
    time.sleep(short_count_window)
    assert status()["viewerCount"] == 4
    time.sleep(short_count_window)  # and it stays there
    assert status()["viewerCount"] == 4


def test_a_read_that_raced_going_live_cannot_bring_the_old_state_back(host_cache, creator, monkeypatch):
    """A poll reads the row just before going live commits and caches it just after: the next poll must
    not be served that copy. Catches: copies stored without the generation read before the row."""
    status()  # the name is known: the next read is by id, generation first
    read_row = stream_state._row

    def row_then_going_live_commits(**lookup):
        old = read_row(**lookup)
        live.stream_go_live(stream=stream_of(creator))
        return old

    monkeypatch.setattr(stream_state, "_row", row_then_going_live_commits)
    stream_state.cache.delete(stream_state._state_key(creator.pk))
    assert status()["isLive"] is False  # the race: the old row answered and stored
    monkeypatch.setattr(stream_state, "_row", read_row)
    assert status()["isLive"] is True


def test_a_revoked_or_deactivated_creator_is_404_at_once(host_cache, livekit, creator, other_creator, staff):
    # Catches: dropping the state's bump from host_changed / stream_shutdown (a revoked creator's page
    # polling "live" for minutes).
    assert status() != 404 and status("erin") != 404
    services.creator_revoke(user=creator, reviewer=staff)
    assert status() == 404
    other_creator.is_active = False
    other_creator.save()
    live.stream_shutdown(user_id=other_creator.pk)  # what the admin does on deactivation
    assert status("erin") == 404


def test_a_rename_moves_the_state_to_the_new_name_at_once(host_cache, creator, staff, rf):
    assert status() != 404
    creator.username = "alicia"
    creator.save()

    class Form:
        changed_data = ["username"]

    CreatorUserAdmin(type(creator), None).save_model(rf.post("/"), creator, Form(), change=True)
    assert status("alice") == 404
    assert status("alicia") == {"isLive": False, "viewerCount": 0}


def test_a_new_title_reaches_the_watch_page_at_once(host_cache, creator):
    # Catches: dropping stream_state_changed from stream_info_update.
    assert "Speedrun night" not in Client().get("/alice/live").content.decode()  # cached now
    services.stream_info_update(stream=stream_of(creator), title="Speedrun night")
    assert "Speedrun night" in Client().get("/alice/live").content.decode()


def test_a_title_edited_in_the_admin_reaches_the_watch_page_at_once(host_cache, creator, staff):
    # Catches: the stream admin saving the row without retiring the cached state.
    assert "Edited by staff" not in Client().get("/alice/live").content.decode()  # cached now
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        reverse("admin:streams_stream_change", args=[stream_of(creator).pk]),
        {"title": "Edited by staff", "description": "", "is_chat_enabled": "on"},
    )
    assert response.status_code == 302
    assert "Edited by staff" in Client().get("/alice/live").content.decode()


# --- Blocks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", ["creator blocked viewer", "viewer blocked creator"])
def test_a_block_either_way_is_404_for_the_signed_in_visitor_even_when_cached(
    host_cache, creator, viewer, direction
):
    status()  # a warm copy that the guest path serves
    Client().get("/alice/live")
    if direction == "creator blocked viewer":
        Block.objects.create(blocker=creator, blocked=viewer)
    else:
        Block.objects.create(blocker=viewer, blocked=creator)
    client = Client()
    client.force_login(viewer)
    assert status(client=client) == 404
    assert client.get("/alice/live").status_code == 404
    assert status() != 404  # guests still see the creator


# --- The watch page ---------------------------------------------------------------------------------------


def test_a_warm_watch_page_costs_no_query_for_a_guest(host_cache, creator, django_assert_num_queries):
    # Catches: the watch page reading the stream (or the host) from the database on every visit.
    services.stream_info_update(stream=stream_of(creator), title="Speedrun night")
    Client().get("/alice/live")
    Client().get("/alice/live")  # the name was new on the first visit: this one stores the copy
    with django_assert_num_queries(0):
        html = Client().get("/alice/live").content.decode()
    assert "Speedrun night" in html and 'data-is-live="false"' in html
    live.stream_go_live(stream=stream_of(creator))
    assert 'data-is-live="true"' in Client().get("/alice/live").content.decode()


def test_a_signed_in_watch_page_reads_only_the_follow_and_block_facts(
    host_cache, creator, viewer, django_assert_num_queries
):
    client = Client()
    client.force_login(viewer)
    client.get("/alice/live")
    client.get("/alice/live")
    with django_assert_num_queries(3):  # the session, the user, then follow and block in one query
        assert client.get("/alice/live").status_code == 200
