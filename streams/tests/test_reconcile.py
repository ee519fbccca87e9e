"""manage.py reconcile: repairs drift from the stand-in's truth (ListIngress, ListParticipants)."""

import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from conftest import make_creator
from streams import live
from streams import livekit as lk
from streams.models import Stream, StreamSession


def _with_ingress(user) -> Stream:
    ingress = lk.ingress_create(user_id=user.pk, username=user.username, ingress_type="RTMP")
    stream = user.stream
    stream.ingress_id = ingress.ingress_id
    stream.stream_key = ingress.stream_key
    stream.save()
    return stream


@pytest.fixture
def drift(livekit, creator, other_creator):
    """Four kinds of drift lost deliveries leave behind (the stand-in delivers no webhooks here)."""
    wrongly_offline = _with_ingress(creator)  # alice: encoder publishing, we think offline
    livekit.encoder_start(wrongly_offline.ingress_id)

    wrongly_live = _with_ingress(other_creator)  # erin: encoder stopped, we think live
    live.stream_go_live(stream=wrongly_live)

    counted = _with_ingress(make_creator("frank"))  # frank: live, 3 viewers in the room, we count 1
    livekit.encoder_start(counted.ingress_id)
    live.stream_go_live(stream=counted)
    room = lk.room_name_for(counted.user_id)
    for identity in ("101", "guest-1764000000000-ab12", "102", f"Host-{counted.user_id}"):
        livekit.participant_join(room, identity)
    live.viewer_join(stream=counted, identity="999", at_ms=live.now_ms())

    # a reset that created a new ingress but failed before deleting the old one
    stray = lk.ingress_create(user_id=creator.pk, username=creator.username, ingress_type="RTMP")
    return {"offline": wrongly_offline, "live": wrongly_live, "counted": counted, "stray": stray.ingress_id}


def _snapshot(livekit) -> tuple:
    streams = tuple(Stream.objects.order_by("pk").values_list("is_live", "viewer_count", "live_since"))
    return streams, StreamSession.objects.count(), set(livekit.ingresses)


def test_dry_run_prints_the_repairs_and_changes_nothing(drift, livekit, capsys):
    before = _snapshot(livekit)

    call_command("reconcile", "--dry-run")

    out = capsys.readouterr().out
    assert "alice: go live" in out
    assert "erin: go offline" in out
    assert "frank: viewers 1 → 3" in out
    assert f"delete stray ingress {drift['stray']}" in out
    assert _snapshot(livekit) == before
    assert livekit.calls["DeleteIngress"] == 0


def test_it_repairs_live_flags_viewer_counts_and_stray_ingresses(drift, livekit, capsys):
    call_command("reconcile")

    for stream in drift["offline"], drift["live"], drift["counted"]:
        stream.refresh_from_db()
    assert drift["offline"].is_live and drift["offline"].sessions.filter(ended_at__isnull=True).exists()
    assert not drift["live"].is_live and not drift["live"].sessions.filter(ended_at__isnull=True).exists()
    assert drift["counted"].viewer_count == 3
    assert drift["counted"].sessions.get().peak_viewers == 3
    assert drift["stray"] not in livekit.ingresses
    assert drift["offline"].ingress_id in livekit.ingresses  # the one a stream points to stays

    capsys.readouterr()
    call_command("reconcile")
    assert capsys.readouterr().out.strip() == "Nothing to repair."


def test_a_publishing_ingress_of_a_revoked_creator_is_not_live(livekit, creator, capsys):
    stream = _with_ingress(creator)
    livekit.encoder_start(stream.ingress_id)
    live.stream_go_live(stream=stream)
    creator.creator_status = "rejected"
    creator.save()

    call_command("reconcile")

    stream.refresh_from_db()
    assert not stream.is_live
    assert "creator not approved" in capsys.readouterr().out


def test_livekit_down_changes_nothing_and_fails_the_command(drift, livekit):
    before = _snapshot(livekit)
    livekit.set_fault("*", "down")

    with pytest.raises(CommandError, match="Nothing changed"):
        call_command("reconcile")

    livekit.clear_faults()
    assert _snapshot(livekit) == before


def test_the_live_rooms_are_asked_in_one_concurrent_batch(db, livekit, settings):
    """Reconcile asked LiveKit for one room after another: eight slow rooms took eight answers' time."""
    streams = [_with_ingress(make_creator(f"creator{n}")) for n in range(8)]
    for stream in streams:
        livekit.encoder_start(stream.ingress_id)
        live.stream_go_live(stream=stream)
    settings.LIVEKIT_TIMEOUT = 5
    livekit.slow_seconds = 1.0
    livekit.set_fault("ListParticipants", "slow")

    started = time.monotonic()
    repairs = live.live_reconcile_plan()
    elapsed = time.monotonic() - started

    assert repairs == []  # nothing drifted
    assert livekit.calls["ListParticipants"] == 8
    assert elapsed < 4  # in sequence it takes at least 8 s
