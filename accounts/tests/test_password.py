import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_reset_mail_is_sent_and_its_link_sets_a_new_password(client, viewer):
    response = client.post(reverse("accounts:password-reset"), {"email": "bob@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@example.com"]
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)

    # Django swaps the token for a session marker and redirects to the form.
    form_url = client.get(link).url
    response = client.post(
        form_url, {"new_password1": "brand-New-secret-99", "new_password2": "brand-New-secret-99"}
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("brand-New-secret-99")
    # The link works once.
    assert client.get(link, follow=True).context["validlink"] is False


def test_no_mail_is_sent_for_an_unknown_address(client, viewer):
    client.post(reverse("accounts:password-reset"), {"email": "nobody@example.com"})
    assert mail.outbox == []


def test_it_changes_the_password_of_a_logged_in_user(client, viewer, password):
    client.force_login(viewer)
    response = client.post(
        reverse("accounts:password-change"),
        {
            "old_password": password,
            "new_password1": "another-Secret-77",
            "new_password2": "another-Secret-77",
        },
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("another-Secret-77")


def test_password_change_requires_login(client):
    response = client.get(reverse("accounts:password-change"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))
