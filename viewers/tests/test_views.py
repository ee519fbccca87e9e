"""Viewer pages through Django's test client: what renders, for whom, and in how many queries."""

import pytest

from accounts.models import Block, Follow, User
from streams.models import Stream, StreamSession


@pytest.fixture
def live_alice(creator):
    stream = creator.stream
    stream.is_live, stream.viewer_count, stream.title = True, 42, "Speedrun night"
    stream.save()
    return stream


def many_live(count: int):
    users = User.objects.bulk_create(
        [
            User(username=f"maker{i:04d}", email=f"m{i}@example.com", creator_status="approved")
            for i in range(count)
        ]
    )
    Stream.objects.bulk_create(
        [Stream(user=u, title=f"Show {i}", is_live=True, viewer_count=i) for i, u in enumerate(users)]
    )


def test_home_lists_live_following_and_recommended(client, viewer, live_alice, other_creator):
    other_creator.stream.is_live = True
    other_creator.stream.save()
    Follow.objects.create(follower=viewer, following=other_creator)
    client.force_login(viewer)
    html = client.get("/").content.decode()
    live, following, recommended = (
        html.split(f'data-section="{name}"')[1] for name in ("live", "following", "recommended")
    )
    assert "Speedrun night" in live and "42 watching" in live
    assert "erin" in following.split("data-section")[0]
    assert "alice" in recommended and "erin" not in recommended


@pytest.mark.parametrize("count", [5, 60])
def test_home_renders_in_a_fixed_number_of_queries(client, viewer, count, django_assert_max_num_queries):
    """Cards read the creator from the same query (select_related): no query per card."""
    many_live(count)
    client.force_login(viewer)
    with django_assert_max_num_queries(6):
        assert client.get("/").status_code == 200


@pytest.mark.parametrize("count", [5, 60])
def test_watch_page_renders_in_a_fixed_number_of_queries(
    client, live_alice, count, django_assert_max_num_queries
):
    many_live(count)
    with django_assert_max_num_queries(3):
        assert client.get("/alice/live").status_code == 200


def test_the_watch_page_reads_without_javascript(client, live_alice):
    html = client.get("/alice/live").content.decode()
    assert "Speedrun night" in html
    assert "data-viewer-count>42<" in html
    assert 'data-can-chat="true"' in html
    assert 'data-token-url="/api/viewer/token"' in html
    assert "Chat as a guest" in html


def test_a_username_in_another_case_redirects_to_the_canonical_url(client, creator):
    assert client.get("/ALICE/live").headers["Location"] == "/alice/live"
    assert client.get("/Alice/").headers["Location"] == "/alice/"


@pytest.mark.parametrize("url", ["/nobody/live", "/bob/live", "/nobody/"])
def test_unknown_users_and_non_creators_are_404(client, viewer, url):
    assert client.get(url).status_code == 404


def test_a_blocked_viewer_gets_404_on_the_creator_pages(client, creator, viewer):
    Block.objects.create(blocker=creator, blocked=viewer)
    client.force_login(viewer)
    assert client.get("/alice/live").status_code == 404
    assert client.get("/alice/").status_code == 404


def test_the_creator_page_shows_recent_sessions(client, creator):
    from django.utils import timezone

    StreamSession.objects.create(
        stream=creator.stream, started_at=timezone.now(), ended_at=timezone.now(), peak_viewers=17
    )
    html = client.get("/alice/").content.decode()
    assert "up to 17 watching" in html


def test_follow_and_block_forms_work_without_javascript(client, creator, viewer):
    client.force_login(viewer)
    assert client.post("/alice/follow", {"action": "follow"}).status_code == 302
    assert Follow.objects.filter(follower=viewer, following=creator).exists()
    client.post("/alice/follow", {"action": "unfollow"})
    assert not Follow.objects.filter(follower=viewer, following=creator).exists()
    response = client.post("/alice/block")
    assert response.headers["Location"] == "/blocked/"  # where the block can be undone
    assert Block.objects.filter(blocker=viewer, blocked=creator).exists()
    assert client.get("/alice/live").status_code == 404  # a block hides both sides


def test_search_page_lists_matches(client, live_alice):
    html = client.get("/search", {"q": "speedrun"}).content.decode()
    assert 'data-stream-card="alice"' in html
    assert "No creator or title matches" in client.get("/search", {"q": "zzz"}).content.decode()


def test_user_text_is_escaped(client, creator):
    creator.stream.title = "<script>alert(1)</script>"
    creator.stream.save()
    html = client.get("/alice/live").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_an_offline_stream_shows_the_offline_card(client, creator):
    html = client.get("/alice/live").content.decode()
    assert "alice is offline." in html
    assert 'class="player" data-player hidden' in html


def test_the_blocked_page_lists_only_your_blocks_and_unblocks(client, creator, viewer, outsider):
    Block.objects.create(blocker=viewer, blocked=creator)
    Block.objects.create(blocker=outsider, blocked=viewer)
    client.force_login(viewer)
    page = client.get("/blocked/").content.decode()
    assert 'data-blocked="alice"' in page and 'data-blocked="charlie"' not in page
    assert client.post("/blocked/charlie/unblock").status_code == 302  # not yours to undo
    assert Block.objects.filter(blocker=outsider).exists()
    client.post("/blocked/ALICE/unblock")
    assert not Block.objects.filter(blocker=viewer).exists()
    assert client.get("/blocked/alice/unblock").status_code == 405
