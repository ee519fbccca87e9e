"""Live, following, recommended and search: ordering, pagination, blocks, and a fixed number of queries."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Block, Follow, User
from streams.models import Stream

MANY = 2_000


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def many_streams(db):
    """2,000 approved creators, half of them live with distinct viewer counts."""
    users = User.objects.bulk_create(
        [
            User(username=f"maker{i:04d}", email=f"m{i}@example.com", creator_status="approved")
            for i in range(MANY)
        ]
    )
    Stream.objects.bulk_create(
        [
            Stream(user=u, title=f"Show {i}", is_live=i % 2 == 0, viewer_count=i if i % 2 == 0 else 0)
            for i, u in enumerate(users)
        ]
    )
    return users


def usernames(response):
    return [item["user"]["username"] for item in response.json()["results"]]


def test_live_is_most_viewers_first_and_paginated(client, many_streams, django_assert_max_num_queries):
    # One query for the page and one for DRF's count, however many streams: no per-stream query (N+1).
    with django_assert_max_num_queries(2):
        response = client.get("/api/viewer/live")
    body = response.json()
    assert body["count"] == MANY // 2
    assert len(body["results"]) == 24
    counts = [item["viewerCount"] for item in body["results"]]
    assert counts == sorted(counts, reverse=True) and counts[0] == MANY - 2
    assert all(item["isLive"] for item in body["results"])
    first = body["results"][0]
    assert first["userId"] == first["hostId"] == User.objects.get(username=first["user"]["username"]).pk
    assert "thumbnail" in first  # the seed's name, beside our thumbnailUrl
    second = client.get(body["next"]).json()
    assert second["results"][0]["viewerCount"] < counts[-1]


def test_following_lists_followed_creators_live_first(
    client, viewer, many_streams, django_assert_max_num_queries
):
    followed = [many_streams[1], many_streams[2], many_streams[3], many_streams[4]]  # odd ones are offline
    Follow.objects.bulk_create([Follow(follower=viewer, following=u) for u in followed])
    client.force_authenticate(viewer)
    with django_assert_max_num_queries(2):
        response = client.get("/api/viewer/following")
    assert usernames(response) == ["maker0004", "maker0002", "maker0001", "maker0003"]


def test_following_needs_a_signed_in_user(client):
    response = client.get("/api/viewer/following")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_recommended_leaves_out_followed_creators_and_me(client, many_streams, django_assert_max_num_queries):
    me = many_streams[MANY - 2]  # a live creator
    Follow.objects.create(follower=me, following=many_streams[MANY - 4])
    client.force_authenticate(me)
    with django_assert_max_num_queries(2):
        response = client.get("/api/viewer/recommended")
    names = usernames(response)
    assert "maker1998" not in names and "maker1996" not in names
    assert names[0] == "maker1994"
    assert response.json()["count"] == MANY // 2 - 2


def test_recommended_for_a_guest_is_everything_live(client, many_streams):
    assert client.get("/api/viewer/recommended").json()["count"] == MANY // 2


def test_search_matches_usernames_and_titles_in_any_case_live_first(
    client, many_streams, django_assert_max_num_queries
):
    Stream.objects.filter(user=many_streams[7]).update(title="Chess with MAKER friends")
    with django_assert_max_num_queries(2):
        response = client.get("/api/search", {"q": "MAKER000"})
    names = usernames(response)
    assert names[:5] == ["maker0008", "maker0006", "maker0004", "maker0002", "maker0000"]
    assert set(names[5:]) == {"maker0001", "maker0003", "maker0005", "maker0007", "maker0009"}
    by_title = usernames(client.get("/api/search", {"q": "chess"}))
    assert by_title == ["maker0007"]


def test_search_needs_a_term(client):
    response = client.get("/api/search", {"q": "  "})
    assert response.status_code == 400
    assert response.json() == {"detail": "Give a search term in q."}


def test_a_blocking_creator_is_absent_from_every_list_of_the_blocked_viewer(client, viewer, many_streams):
    blocker = many_streams[MANY - 2]  # the most watched live stream
    Follow.objects.create(follower=viewer, following=blocker)
    Block.objects.create(blocker=blocker, blocked=viewer)
    client.force_authenticate(viewer)
    for url, params in [
        ("/api/viewer/live", {}),
        ("/api/viewer/following", {}),
        ("/api/viewer/recommended", {}),
        ("/api/search", {"q": "maker1998"}),
    ]:
        assert "maker1998" not in usernames(client.get(url, params)), url


def test_a_blocked_viewer_disappears_from_the_blockers_lists(client, creator, other_creator):
    other_creator.stream.is_live = True
    other_creator.stream.save()
    Block.objects.create(blocker=creator, blocked=other_creator)
    client.force_authenticate(creator)
    assert "erin" not in usernames(client.get("/api/viewer/live"))
    assert "erin" not in usernames(client.get("/api/search", {"q": "erin"}))


def test_control_characters_in_a_search_or_username_are_harmless(client, creator):
    """Found by the API fuzzer: PostgreSQL refuses NUL in a query, which used to answer 500."""
    assert client.get("/api/search", {"q": "al\x00ice"}).status_code == 200
    assert client.get("/api/viewer/stream/al%00ice").status_code == 404
    assert client.get("/al%00ice/live").status_code == 404
