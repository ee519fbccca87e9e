"""A block, an unfollow, a chat-settings change and a revoke reach the very next token (issue 19).

The token path caches what it can (the host, and whatever a faster path may cache next); none of it may
outlive a change. Viewers ask ``POST /api/viewer/token`` without pause from several threads while the main
thread makes a change and undoes it, again and again, with real commits on PostgreSQL. Each answer is
judged by when its request started: one that started after the change committed (and ended before the
undo began) must show the change; one that started after the undo committed must show it undone. Only
the public endpoint is used, so the tests hold whatever the token path becomes.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from livekit import api as lk_api

from accounts import services as account_services
from streams import services
from streams.models import Stream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 4
TOGGLES = 20
HOLD_LIMIT_SECONDS = 1.0  # the longest a state stands waiting for every client to be answered in it

# What a token request answered: no token (404), a token that may chat, a token that may only watch.
HIDDEN, CHAT, WATCH = "no token", "may chat", "watch only"


@pytest.fixture
def unthrottled(monkeypatch, settings):
    """The token limits out of the way: the clients ask far faster than any viewer may."""
    from rest_framework.throttling import SimpleRateThrottle

    rates = dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "1000000/min")
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


@dataclass(frozen=True)
class Answer:
    asked: float  # monotonic, before the request was sent
    answered: float
    outcome: str


@dataclass(frozen=True)
class Toggle:
    changing: float  # before the change was made
    changed: float  # after it committed
    undoing: float
    undone: float


@dataclass(frozen=True)
class Race:
    answers: list[Answer]
    toggles: list[Toggle]

    def after_change(self) -> list[Answer]:
        """Answers to requests that started once a change had committed and ended before its undo began."""
        return [
            a
            for a in self.answers
            if any(t.changed <= a.asked and a.answered <= t.undoing for t in self.toggles)
        ]

    def after_undo(self) -> list[Answer]:
        """Answers to requests that started once an undo had committed and ended before the next change."""
        ends = [t.changing for t in self.toggles[1:]] + [float("inf")]
        return [
            a
            for a in self.answers
            if any(
                t.undone <= a.asked and a.answered <= end for t, end in zip(self.toggles, ends, strict=True)
            )
        ]

    def raced(self) -> list[Toggle]:
        """The changes that committed while a token request was running."""
        return [
            t
            for t in self.toggles
            if any(a.asked < t.changed and a.answered > t.changing for a in self.answers)
        ]


def token_outcome(response, verifier: lk_api.TokenVerifier) -> str:
    if response.status_code == 404:
        return HIDDEN
    assert response.status_code == 200, (response.status_code, response.content)
    return CHAT if verifier.verify(response.json()["token"]).video.can_publish_data else WATCH


def race(
    livekit,
    *,
    clients: list[Client],
    bodies: list[dict],
    change: Callable[[], None],
    undo: Callable[[], None],
) -> Race:
    """Each client asks for tokens (with its body) until the change has been made and undone TOGGLES times."""
    verifier = lk_api.TokenVerifier(livekit.api_key, livekit.api_secret)
    answers: list[Answer] = []
    last_asked = [0.0] * len(clients)  # per client: when its latest answered request started
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask(n: int, client: Client, body: dict) -> None:
        try:
            while not stop.is_set():
                asked = time.monotonic()
                response = client.post("/api/viewer/token", body, content_type="application/json")
                answered = time.monotonic()
                answers.append(Answer(asked, answered, token_outcome(response, verifier)))
                last_asked[n] = asked
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
            stop.set()
        finally:
            connection.close()

    def hold(since: float) -> None:
        # The state stands until every client was answered a request it started after ``since``: on a
        # loaded machine a request can outlast any fixed pause, and then nothing would be checked.
        deadline = since + HOLD_LIMIT_SECONDS
        while min(last_asked) < since and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.002)

    threads = [
        threading.Thread(target=ask, args=(n, client, body))
        for n, (client, body) in enumerate(zip(clients, bodies, strict=True))
    ]
    for thread in threads:
        thread.start()
    toggles = []
    try:
        hold(time.monotonic())
        for _ in range(TOGGLES):
            if stop.is_set():
                break
            changing = time.monotonic()
            change()
            changed = time.monotonic()
            hold(changed)
            undoing = time.monotonic()
            undo()
            undone = time.monotonic()
            toggles.append(Toggle(changing, changed, undoing, undone))
            hold(undone)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert errors == []
    return Race(answers=answers, toggles=toggles)


def assert_fresh(result: Race, *, changed_to: str, undone_to: str) -> None:
    after_change, after_undo = result.after_change(), result.after_undo()
    # The race was run: requests were in flight at each commit, and asked on both sides of it.
    assert len(result.toggles) == TOGGLES and len(result.raced()) >= TOGGLES // 2
    assert len(after_change) >= TOGGLES and len(after_undo) >= TOGGLES
    stale = [a for a in after_change if a.outcome != changed_to]
    assert not stale, (
        f"{len(stale)} of {len(after_change)} requests started after the change answered {stale[0]}"
    )
    stale = [a for a in after_undo if a.outcome != undone_to]
    assert not stale, f"{len(stale)} of {len(after_undo)} requests started after the undo answered {stale[0]}"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def by_name_and_id(host) -> list[dict]:
    """Half the clients name the host, half give its id: the two ways in, each with its own cache key."""
    return [{"username": host.username} if n % 2 else {"hostId": host.pk} for n in range(CLIENTS)]


def ask_once(client: Client, body: dict, livekit) -> str:
    verifier = lk_api.TokenVerifier(livekit.api_key, livekit.api_secret)
    return token_outcome(client.post("/api/viewer/token", body, content_type="application/json"), verifier)


@pytest.mark.parametrize("who_blocks", ["the host", "the viewer"])
def test_a_block_hides_the_host_from_the_next_token(
    host_cache, livekit, unthrottled, creator, viewer, who_blocks
):
    blocker, blocked = (creator, viewer) if who_blocks == "the host" else (viewer, creator)
    clients = [signed_in(viewer) for _ in range(CLIENTS)]
    bodies = by_name_and_id(creator)
    assert ask_once(clients[0], bodies[0], livekit) == CHAT

    result = race(
        livekit,
        clients=clients,
        bodies=bodies,
        change=lambda: account_services.block_create(blocker=blocker, blocked=blocked),
        undo=lambda: account_services.block_delete(blocker=blocker, blocked=blocked),
    )
    assert_fresh(result, changed_to=HIDDEN, undone_to=CHAT)


def test_an_unfollow_closes_followers_only_chat_from_the_next_token(
    host_cache, livekit, unthrottled, creator, viewer
):
    services.stream_chat_settings_update(stream=Stream.objects.get(user=creator), is_chat_followers_only=True)
    account_services.follow_create(follower=viewer, following=creator)
    clients = [signed_in(viewer) for _ in range(CLIENTS)]
    bodies = by_name_and_id(creator)
    assert ask_once(clients[0], bodies[0], livekit) == CHAT

    result = race(
        livekit,
        clients=clients,
        bodies=bodies,
        change=lambda: account_services.follow_delete(follower=viewer, following=creator),
        undo=lambda: account_services.follow_create(follower=viewer, following=creator),
    )
    assert_fresh(result, changed_to=WATCH, undone_to=CHAT)


# Each change takes chat from a signed-in viewer who does not follow: chat off, or followers-only on.
SETTINGS = [
    ({"isChatEnabled": False}, {"isChatEnabled": True}),
    ({"isChatFollowersOnly": True}, {"isChatFollowersOnly": False}),
]


@pytest.mark.parametrize(("closed", "opened"), SETTINGS, ids=["chat-off", "followers-only"])
def test_a_chat_settings_change_reaches_the_next_token(
    host_cache, livekit, unthrottled, creator, viewer, closed, opened
):
    dashboard = signed_in(creator)

    def put(body: dict) -> None:
        # The creator's API (the dashboard's form calls the same service); it answers once committed.
        response = dashboard.put("/api/stream/chat-settings", body, content_type="application/json")
        assert response.status_code == 200, response.content

    clients = [signed_in(viewer) for _ in range(CLIENTS)]
    bodies = by_name_and_id(creator)
    assert ask_once(clients[0], bodies[0], livekit) == CHAT

    result = race(
        livekit, clients=clients, bodies=bodies, change=lambda: put(closed), undo=lambda: put(opened)
    )
    assert_fresh(result, changed_to=WATCH, undone_to=CHAT)


def test_a_revoked_creator_gets_no_token_from_the_next_request(
    host_cache, livekit, unthrottled, creator, viewer, staff
):
    # Guests and a signed-in viewer: the guest's path asks no follow or block, so only the host read decides.
    clients = [Client() if n < CLIENTS // 2 else signed_in(viewer) for n in range(CLIENTS)]
    bodies = by_name_and_id(creator)
    before = [ask_once(client, body, livekit) for client, body in zip(clients, bodies, strict=True)]
    assert before == [CHAT] * CLIENTS

    result = race(
        livekit,
        clients=clients,
        bodies=bodies,
        # The one service every admin path that takes the right to stream away goes through (test_revoke.py).
        change=lambda: services.creator_revoke(user=creator, reviewer=staff),
        undo=lambda: services.creator_approve(user=creator, reviewer=staff),
    )
    assert_fresh(result, changed_to=HIDDEN, undone_to=CHAT)
