"""Concurrent key changes never leave a working key that no stream owns (PostgreSQL row locks)."""

import threading
import time

import pytest
from django.db import connection

from streams import livekit as lk
from streams import services
from streams.models import Stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_thread(target, errors: list) -> threading.Thread:
    def run():
        try:
            target()
        except Exception as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_deleting_a_key_while_a_reset_is_in_flight_leaves_no_orphan(livekit, creator):
    """The delete reads the key, a reset saves a new one, the delete then clears the row: the new key must
    not be forgotten while it still works at LiveKit (it was 9 of 15 rounds before the fix)."""
    room = lk.room_name_for(creator.pk)
    livekit.slow_seconds = 0.4
    for round_ in range(6):
        services.stream_ingress_create(user=creator, ingress_type="RTMP")
        livekit.set_fault("DeleteIngress", "slow")  # the delete's LiveKit call spans the reset
        errors: list = []
        deleting = _in_thread(lambda: services.stream_ingress_delete(user=creator), errors)
        time.sleep(0.1)
        resetting = _in_thread(
            lambda: services.stream_ingress_create(user=creator, ingress_type="WHIP"), errors
        )
        deleting.join(10)
        resetting.join(10)
        livekit.clear_faults()
        assert errors == []

        owned = Stream.objects.get(user=creator).ingress_id
        working = {i.ingress_id for i in livekit.ingresses.values() if i.room_name == room}
        assert working == ({owned} if owned else set()), f"round {round_}"
        if owned:
            services.stream_ingress_delete(user=creator)


def test_a_key_made_while_the_creator_is_revoked_does_not_survive(livekit, creator, staff):
    """A reset whose LiveKit call spans a revocation must not save (and leave working) the new key."""
    from accounts.models import User

    livekit.slow_seconds = 0.5
    livekit.set_fault("CreateIngress", "slow")
    errors: list = []
    resetting = _in_thread(lambda: services.stream_ingress_create(user=creator, ingress_type="RTMP"), errors)
    time.sleep(0.1)

    services.creator_revoke(user=User.objects.get(pk=creator.pk), reviewer=staff)

    resetting.join(10)
    livekit.clear_faults()
    assert [getattr(e, "code", e) for e in errors] == ["forbidden"]
    assert livekit.ingresses == {}
    assert Stream.objects.get(user=creator).ingress_id is None
