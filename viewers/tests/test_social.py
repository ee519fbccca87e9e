"""Follow, unfollow, block, unblock and the blocked list through the API."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Block, Follow


@pytest.fixture
def client(viewer):
    client = APIClient()
    client.force_authenticate(viewer)
    return client


def test_it_follows_and_unfollows(client, viewer, creator):
    response = client.post("/api/users/ALICE/follow")
    assert response.status_code == 201
    assert response.json() == {"username": "alice", "following": True}
    assert Follow.objects.filter(follower=viewer, following=creator).exists()

    response = client.delete("/api/users/alice/follow")
    assert response.status_code == 200
    assert not Follow.objects.filter(follower=viewer, following=creator).exists()


def test_following_twice_is_a_conflict_and_changes_nothing(client, viewer, creator):
    client.post("/api/users/alice/follow")
    response = client.post("/api/users/alice/follow")
    assert response.status_code == 409
    assert response.json() == {"detail": "You already follow alice."}
    assert Follow.objects.filter(follower=viewer).count() == 1


def test_unfollowing_someone_not_followed_is_404(client, creator):
    response = client.delete("/api/users/alice/follow")
    assert response.status_code == 404
    assert response.json() == {"detail": "You do not follow alice."}


@pytest.mark.parametrize("what", ["follow", "block"])
def test_following_or_blocking_yourself_is_400(client, viewer, what):
    response = client.post(f"/api/users/bob/{what}")
    assert response.status_code == 400
    assert "yourself" in response.json()["detail"]
    assert not Follow.objects.exists() and not Block.objects.exists()


def test_an_unknown_user_is_404(client):
    assert client.post("/api/users/nobody/follow").status_code == 404


def test_it_blocks_lists_and_unblocks(client, viewer, creator):
    client.post("/api/users/alice/follow")
    response = client.post("/api/users/alice/block")
    assert response.status_code == 201
    assert Block.objects.filter(blocker=viewer, blocked=creator).exists()
    assert not Follow.objects.filter(follower=viewer, following=creator).exists()  # a block ends the follow

    assert client.post("/api/users/alice/block").status_code == 409
    listed = client.get("/api/users/blocked").json()
    assert [u["username"] for u in listed["results"]] == ["alice"]

    assert client.delete("/api/users/alice/block").status_code == 200
    assert client.delete("/api/users/alice/block").status_code == 404
    assert client.get("/api/users/blocked").json()["results"] == []


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/users/alice/follow"),
        ("delete", "/api/users/alice/block"),
        ("get", "/api/users/blocked"),
    ],
)
def test_social_endpoints_need_a_signed_in_user(creator, method, url):
    response = getattr(APIClient(), method)(url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_follow_and_block_need_the_csrf_token_with_a_session(viewer, creator, password):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(viewer)
    response = client.post("/api/users/alice/follow")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
