"""Titles and descriptions are cleaned at the service, for the API and the dashboard form alike
(issue 14, item 16), with the rules guest names already had (streamit/text.py)."""

import pytest
from rest_framework.test import APIClient

from accounts.services import creator_apply
from conftest import make_user
from streamit.text import clean_line, clean_text
from streams.models import Stream

pytestmark = pytest.mark.django_db

RLO, PDF, ZWSP, ZWJ, BOM = "\u202e", "\u202c", "\u200b", "\u200d", "\ufeff"

TITLES = [
    (f"Chess{RLO}txt.exe{PDF}", "Chesstxt.exe"),
    (f"{ZWSP}{ZWJ}{BOM}", ""),  # zero-width only: nothing visible, so nothing stored
    ("bell\x07 and\x1b[31m escape", "bell and[31m escape"),
    ("  lots \t of\u3000 space ", "lots of space"),
    ("line\nbreak\u2028here", "line break here"),
    ("<b>markup stays text</b>", "<b>markup stays text</b>"),
    ("Ça va? 🎮 日本語", "Ça va? 🎮 日本語"),
]


@pytest.mark.parametrize(("raw", "clean"), TITLES)
def test_clean_line(raw, clean):
    assert clean_line(raw) == clean


def test_clean_text_keeps_paragraphs_and_drops_the_invisible():
    raw = f"First{RLO} line\r\n\r\n\r\n\r\nSecond\x00 line{ZWSP}\u2029Third\x85Fourth  "
    assert clean_text(raw) == "First line\n\nSecond line\n\nThird\nFourth"
    assert clean_text(f"{ZWSP}\n{BOM}\n\t") == ""


def api(creator) -> APIClient:
    client = APIClient()
    client.force_authenticate(creator)
    return client


@pytest.mark.parametrize(("raw", "clean"), TITLES)
def test_the_api_stores_a_clean_title_and_description(livekit, creator, raw, clean):
    response = api(creator).put(
        "/api/stream/info", {"title": raw, "description": f"{raw}\n{RLO}more"}, format="json"
    )
    assert response.status_code == 200
    stream = Stream.objects.get(user=creator)
    assert stream.title == clean
    assert stream.description == clean_text(f"{raw}\n{RLO}more")
    assert RLO not in stream.description and ZWSP not in stream.description
    assert response.json()["title"] == clean


def test_create_cleans_too(livekit, creator):
    response = api(creator).post(
        "/api/stream/create", {"title": f"{RLO}evil", "description": f"a{ZWSP}b"}, format="json"
    )
    assert response.status_code == 201, response.content
    stream = Stream.objects.get(user=creator)
    assert (stream.title, stream.description) == ("evil", "ab")


@pytest.mark.parametrize(("raw", "clean"), TITLES)
def test_the_dashboard_form_stores_the_same(client, livekit, creator, raw, clean):
    client.force_login(creator)
    response = client.post("/dashboard/", {"info-title": raw, "info-description": f"x{BOM}\x07y"})
    assert response.status_code == 302
    stream = Stream.objects.get(user=creator)
    assert (stream.title, stream.description) == (clean, "xy")


def test_viewers_see_the_cleaned_title(client, livekit, creator):
    api(creator).put("/api/stream/info", {"title": f"Speed{RLO}run"}, format="json")
    assert client.get("/api/viewer/stream/alice").json()["title"] == "Speedrun"


def test_a_creator_application_is_cleaned_for_the_staff_who_read_it(db):
    user = make_user("zed")
    creator_apply(user=user, reason=f"I stream{RLO} chess{ZWSP}\x1b every night")
    user.refresh_from_db()
    assert user.creator_application == "I stream chess every night"
