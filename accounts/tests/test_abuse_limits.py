import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from streamit.ratelimits import wait_in_words

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
ADMIN_LOGIN = reverse("admin:login")


def fail_logins(client, url, username, times):
    return [client.post(url, {"username": username, "password": "wrong"}).status_code for _ in range(times)]


def test_the_sixth_bad_password_locks_the_account(client, viewer, password):
    assert fail_logins(client, LOGIN, "bob", 5) == [200] * 5  # form errors, not locked yet
    assert fail_logins(client, LOGIN, "bob", 1) == [429]
    # Locked: even the right password is refused, in any case of the username.
    response = client.post(LOGIN, {"username": "BOB", "password": password})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert not client.get("/").context["user"].is_authenticated


def test_the_lockout_covers_the_admin_login(client, staff, password):
    fail_logins(client, ADMIN_LOGIN, "sam", 6)
    response = client.post(ADMIN_LOGIN, {"username": "sam", "password": password})
    assert response.status_code == 429
    # The site's own log-in shares the count.
    assert client.post(LOGIN, {"username": "sam", "password": password}).status_code == 429


def test_a_locked_account_is_unlocked_as_the_readme_says(client, viewer, password):
    fail_logins(client, LOGIN, "bob", 6)
    call_command("axes_reset_username", "bob")
    call_command("axes_reset_ip", "127.0.0.1")
    response = client.post(LOGIN, {"username": "bob", "password": password})
    assert response.status_code == 302


def test_a_good_log_in_resets_the_failure_count(client, viewer, password):
    fail_logins(client, LOGIN, "bob", 5)
    assert client.post(LOGIN, {"username": "bob", "password": password}).status_code == 302
    client.logout()
    assert fail_logins(client, LOGIN, "bob", 5) == [200] * 5


def signup(client, n, **extra):
    return client.post(
        reverse("accounts:signup"),
        {
            "username": f"spam{n}",
            "email": f"spam{n}@example.com",
            "password1": "a-Long-passphrase-42",
            "password2": "a-Long-passphrase-42",
        },
        **extra,
    )


def test_sign_up_is_rate_limited_per_client_ip(client, settings):
    settings.RATE_LIMIT_SIGNUP = "3/h"
    for n in range(3):
        assert signup(client, n).status_code == 302
        client.logout()
    response = signup(client, 3)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600  # until the hour's window ends
    assert not User.objects.filter(username="spam3").exists()
    # Another client is not affected.
    assert signup(client, 4, REMOTE_ADDR="203.0.113.9").status_code == 302


def typo(client, n):
    return client.post(
        reverse("accounts:signup"),
        {"username": f"typo{n}", "email": f"typo{n}@example.com", "password1": "a-Long-passphrase-42"},
    )


def test_sign_up_typos_do_not_count_toward_the_limit(client, settings):
    settings.RATE_LIMIT_SIGNUP = "2/h"
    assert [typo(client, n).status_code for n in range(10)] == [200] * 10  # form errors, shown again
    assert signup(client, 0).status_code == 302
    client.logout()
    assert signup(client, 1).status_code == 302
    client.logout()
    assert signup(client, 2).status_code == 429  # two accounts an hour is what the limit is for


def test_the_sign_up_limit_says_the_wait_in_words(client, settings):
    settings.RATE_LIMIT_SIGNUP = "1/h"
    signup(client, 0)
    client.logout()

    response = signup(client, 1)

    assert response.status_code == 429
    text = response.content.decode()
    words = wait_in_words(int(response["Retry-After"]))
    assert "minute" in words or "hour" in words
    assert f"Please wait {words} and try again." in text
    assert "seconds" not in text


def test_a_spoofed_forwarded_for_does_not_reset_the_limit_without_a_proxy(client, settings):
    settings.RATE_LIMIT_SIGNUP = "1/h"
    assert signup(client, 0).status_code == 302
    client.logout()
    assert signup(client, 1, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(client, settings):
    settings.RATE_LIMIT_SIGNUP = "1/h"
    settings.TRUSTED_PROXY_COUNT = 1
    assert signup(client, 0, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302
    client.logout()
    assert signup(client, 1, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert signup(client, 2, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302


def test_password_reset_is_rate_limited(client, viewer, settings):
    settings.RATE_LIMIT_PASSWORD_RESET = "2/h"
    url = reverse("accounts:password-reset")
    assert [client.post(url, {"email": "bob@example.com"}).status_code for _ in range(3)] == [302, 302, 429]
    assert len(mail.outbox) == 2


def test_failed_log_ins_under_made_up_names_do_not_lock_a_real_account(client, viewer, password):
    for n in range(6):
        assert fail_logins(client, LOGIN, f"made-up-{n}", 1) == [200]

    response = client.post(LOGIN, {"username": "bob", "password": password})

    assert response.status_code == 302  # bob shares the address, not the account


def test_many_failures_under_many_names_pause_the_address_and_say_so(client, viewer, password, settings):
    settings.LOGIN_IP_FAILURE_LIMIT = 8
    statuses = [fail_logins(client, LOGIN, f"made-up-{n}", 1)[0] for n in range(8)]
    assert statuses == [200] * 7 + [429]

    response = client.post(LOGIN, {"username": "bob", "password": password})

    assert response.status_code == 429
    text = response.content.decode()
    assert "your network address" in text and "Your account is not locked" in text
    assert "This account is locked" not in text
    # From another address bob logs in at once.
    assert (
        client.post(LOGIN, {"username": "bob", "password": password}, REMOTE_ADDR="198.51.100.4").status_code
        == 302
    )


def test_a_locked_account_says_the_account_is_locked(client, viewer):
    fail_logins(client, LOGIN, "bob", 5)

    response = client.post(LOGIN, {"username": "bob", "password": "wrong"})

    assert response.status_code == 429
    assert "This account is locked after 6 wrong passwords" in response.content.decode()
    assert "network address" not in response.content.decode()
