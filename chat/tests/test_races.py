"""With real commits on PostgreSQL and chatters sending from other connections: a time-out, and the end of
the session, hold from the moment they commit. The INSERT checks both itself, so nothing is cached that a
worker could still be reading."""

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from chat import services
from chat.models import ChatMessage
from streams.live import stream_go_offline
from streams.selectors import host_get

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GUEST = services.Chatter(user=None, identity="guest-1764000000000-0a1b2c3d", name="Zoe")


@pytest.fixture
def live_host(live, monkeypatch):
    monkeypatch.setattr(services, "FLOOD_MESSAGES", 10**6)  # the senders below are one chatter
    return host_get(user_id=live.pk)


def send_meanwhile(host, action) -> tuple[list[str], list[Exception]]:
    """Two workers send as fast as they can while ``action`` runs; the reasons they were refused."""
    stop, refusals, errors = threading.Event(), [], []

    def sender():
        try:
            while not stop.is_set():
                try:
                    services.message_send(host=host, chatter=GUEST, text="spam")
                except services.ChatRefused as refused:
                    refusals.append(refused.reason)
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    action()
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(10)
    return refusals, errors


def test_no_message_is_kept_once_the_time_out_has_committed(live_host, creator):
    first = services.message_send(host=live_host, chatter=GUEST, text="first")
    committed = []

    def time_out():
        services.chatter_time_out(actor=creator, host=live_host, message_id=first.pk, minutes=1)
        committed.append(timezone.now())

    refusals, errors = send_meanwhile(live_host, time_out)

    assert errors == []
    assert refusals and set(refusals) == {services.CHAT_TIMED_OUT}
    kept = ChatMessage.objects.filter(identity=GUEST.identity)
    assert kept.filter(created_at__lt=committed[0]).count() > 1  # they were chatting until then
    assert not kept.filter(created_at__gte=committed[0]).exists()


def test_no_message_is_kept_once_the_session_has_ended(live_host, creator):
    ended = []

    def go_offline():
        stream_go_offline(stream=creator.stream)
        ended.append(timezone.now())

    refusals, errors = send_meanwhile(live_host, go_offline)

    assert errors == []
    assert refusals and set(refusals) == {services.CHAT_OFFLINE}
    kept = ChatMessage.objects.filter(identity=GUEST.identity)
    assert kept.count() > 1
    assert not kept.filter(created_at__gte=ended[0]).exists()
