"""GET /api/viewer/stream/<username>/chat (what a late joiner loads), deletion with the account, retention."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.services import block_create
from chat.models import ChatMessage
from chat.selectors import HISTORY_SIZE
from streams.live import stream_go_live, stream_go_offline

pytestmark = pytest.mark.django_db

URL = "/api/viewer/stream/alice/chat"


def say(client, text):
    response = client.post(URL, {"text": text}, content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def store(creator, count, *, author=None, start=0):
    session = creator.stream.sessions.get(ended_at__isnull=True)
    return ChatMessage.objects.bulk_create(
        ChatMessage(
            session=session, author=author, identity="guest-x", name="Zoe", role="guest", text=f"m{n}"
        )
        for n in range(start, start + count)
    )


def test_a_late_joiner_gets_what_was_said_oldest_first(client, live, viewer):
    client.force_login(viewer)
    sent = [say(client, "first"), say(client, "second")]
    client.logout()
    body = client.get(URL).json()
    assert body == {"messages": sent, "hasMore": False, "canModerate": False}


def test_the_last_50_then_older_ones_before_an_id_without_gaps_or_repeats(client, live):
    store(live, HISTORY_SIZE + 20)
    page = client.get(URL).json()
    assert len(page["messages"]) == HISTORY_SIZE and page["hasMore"]
    assert page["messages"][-1]["text"] == f"m{HISTORY_SIZE + 19}"
    older = client.get(URL, {"before": page["messages"][0]["id"]}).json()
    assert not older["hasMore"]
    texts = [m["text"] for m in older["messages"] + page["messages"]]
    assert texts == [f"m{n}" for n in range(HISTORY_SIZE + 20)]


def test_only_the_current_session(client, live, livekit):
    store(live, 3)
    stream_go_offline(stream=live.stream)
    assert client.get(URL).json()["messages"] == []
    stream_go_live(stream=live.stream)
    store(live, 1, start=7)
    assert [m["text"] for m in client.get(URL).json()["messages"]] == ["m7"]


def test_history_is_one_query_whatever_its_length(client, live, django_assert_max_num_queries):
    """The messages of the session in one query, not one per message (plus the host, cached after)."""
    store(live, HISTORY_SIZE)
    client.get(URL)
    with django_assert_max_num_queries(1):
        assert len(client.get(URL).json()["messages"]) == HISTORY_SIZE


def test_a_blocked_viewer_gets_404(client, live, viewer):
    store(live, 1)
    block_create(blocker=live, blocked=viewer)
    client.force_login(viewer)
    assert client.get(URL).status_code == 404


@pytest.mark.parametrize("before", ["x", "0", "-3", "1e3"])
def test_a_bad_before_is_400(client, live, before):
    response = client.get(URL, {"before": before})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_an_unknown_stream_is_404(client, db):
    assert client.get("/api/viewer/stream/nobody/chat").status_code == 404


def test_deleting_an_account_takes_its_messages(client, live, viewer, outsider):
    client.force_login(viewer)
    say(client, "mine")
    client.force_login(outsider)
    say(client, "theirs")
    viewer.delete()
    assert [m["text"] for m in client.get(URL).json()["messages"]] == ["theirs"]


def test_prune_deletes_what_is_older_than_the_retention(live, settings):
    old, new = store(live, 2)
    ChatMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    settings.CHAT_RETENTION_DAYS = 30
    call_command("prune_chat")
    assert list(ChatMessage.objects.values_list("pk", flat=True)) == [new.pk]


def test_a_retention_of_0_keeps_everything(live, settings):
    store(live, 1)
    ChatMessage.objects.update(created_at=timezone.now() - timedelta(days=3650))
    settings.CHAT_RETENTION_DAYS = 0
    call_command("prune_chat")
    assert ChatMessage.objects.count() == 1
