import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")


def signup(client, username, password="a-Long-passphrase-42", email="new@example.com"):
    return client.post(
        SIGNUP, {"username": username, "email": email, "password1": password, "password2": password}
    )


def test_it_signs_up_and_logs_the_user_in(client):
    response = signup(client, "new_streamer")
    assert response.status_code == 302
    user = User.objects.get(username="new_streamer")
    assert "a-Long-passphrase-42" not in user.password and user.check_password("a-Long-passphrase-42")
    assert client.get(reverse("home")).context["user"] == user


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", "3 to 30 characters"),
        ("x" * 31, "at most 30 characters"),
        ("has space", "3 to 30 characters"),
        ("dot.name", "3 to 30 characters"),
        ("émile", "3 to 30 characters"),
        ("admin", "reserved"),
        ("API", "reserved"),
        ("Dashboard", "reserved"),
    ],
)
def test_it_refuses_malformed_and_reserved_usernames(client, username, message):
    response = signup(client, username)
    assert response.status_code == 200
    assert message in str(response.context["form"].errors["username"])
    assert not User.objects.filter(username=username).exists()


def test_it_refuses_a_username_that_differs_only_in_case(client, viewer):
    response = signup(client, "BOB")
    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["username"])
    assert User.objects.filter(username__iexact="bob").count() == 1


def test_the_database_refuses_case_duplicates(db):
    from django.db import IntegrityError

    User.objects.create_user(username="Zed")
    with pytest.raises(IntegrityError):
        User.objects.create_user(username="zed")


def test_it_refuses_mismatched_and_weak_passwords(client):
    response = client.post(
        SIGNUP, {"username": "weakling", "email": "w@example.com", "password1": "123", "password2": "124"}
    )
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not User.objects.filter(username="weakling").exists()


def test_it_logs_in_with_any_case_of_the_username(client, viewer, password):
    response = client.post(LOGIN, {"username": "BOB", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == viewer


def test_it_refuses_a_wrong_password_with_a_form_error(client, viewer):
    response = client.post(LOGIN, {"username": "bob", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not response.context["user"].is_authenticated


def test_the_nav_shows_who_is_logged_in(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("home")).content.decode()
    assert "Signed in as <strong>bob</strong>" in page


def test_log_out_ends_the_session(client, viewer):
    client.force_login(viewer)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_the_project_settings_store_passwords_with_argon2(client, settings):
    """Under the project's own hashers (the test run swaps in MD5 for speed), a sign-up is stored as
    Argon2id and logs in again; fails if Argon2 leaves PASSWORD_HASHERS or argon2-cffi is not installed."""
    from streamit import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert signup(client, "argon_user").status_code == 302
    stored = User.objects.get(username="argon_user").password
    assert stored.startswith("argon2$argon2id$")
    client.logout()
    response = client.post(LOGIN, {"username": "argon_user", "password": "a-Long-passphrase-42"})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"].username == "argon_user"
