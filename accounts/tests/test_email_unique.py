"""One account per e-mail address, in any case; a password reset mails exactly one (issue 14, item 5)."""

import pytest
from django.core import mail
from django.db import IntegrityError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from accounts.models import User

pytestmark = pytest.mark.django_db


def signup(client, username, email):
    password = "a-Long-passphrase-42"
    return client.post(
        reverse("accounts:signup"),
        {"username": username, "email": email, "password1": password, "password2": password},
    )


@pytest.mark.parametrize("email", ["bob@example.com", "BOB@example.com", "Bob@Example.COM"])
def test_sign_up_refuses_an_address_another_account_has_in_any_case(client, viewer, email):
    response = signup(client, "bobby", email)
    assert response.status_code == 200
    assert "already exists" in str(response.context["form"].errors["email"])
    assert not User.objects.filter(username="bobby").exists()


def test_the_database_refuses_a_case_duplicate_but_not_blank_addresses(db):
    User.objects.create_user(username="one", email="Same@Example.com")
    with pytest.raises(IntegrityError):
        User.objects.create_user(username="two", email="same@example.COM")


def test_any_number_of_accounts_may_have_no_address(db):
    for name in ("staff1", "staff2", "staff3"):
        User.objects.create_user(username=name)
    assert User.objects.filter(email="").count() == 3


def test_the_admin_refuses_a_taken_address_on_add_and_on_change(client, staff, viewer, outsider):
    client.force_login(staff)
    added = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "newbie", "email": "BOB@example.com", "usable_password": "false"},
    )
    assert added.status_code == 200
    assert "already exists" in str(added.context["adminform"].form.errors["email"])
    assert not User.objects.filter(username="newbie").exists()

    change = reverse("admin:accounts_user_change", args=[outsider.pk])
    form = client.get(change).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups")}
    data.update({"email": "Bob@Example.com", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    data.pop("date_joined", None)
    data.pop("last_login", None)
    data.pop("user_permissions", None)
    response = client.post(change, data)
    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors["email"])
    outsider.refresh_from_db()
    assert outsider.email == "charlie@example.com"


def test_a_password_reset_mails_the_one_account_whatever_case_is_typed(client, viewer):
    client.post(reverse("accounts:password-reset"), {"email": "BOB@EXAMPLE.com"})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["bob@example.com"]


@pytest.mark.django_db(transaction=True)
def test_the_migration_leaves_a_shared_address_with_the_account_used_last(capsys):
    """13 accounts sharing an address (the reported case): one keeps it, the others lose it."""
    executor = MigrationExecutor(connection)
    before, after = [("accounts", "0001_initial")], [("accounts", "0003_email_ci_unique")]
    executor.migrate(before)
    try:
        _shared_addresses_are_settled(executor, before, after, capsys)
    finally:
        # Leave the schema as every other test expects it, whatever migrations come after these.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def _shared_addresses_are_settled(executor, before, after, capsys):
    old_apps = executor.loader.project_state(before).apps
    OldUser = old_apps.get_model("accounts", "User")
    now = timezone.now()
    for i in range(13):
        OldUser.objects.create(
            username=f"dup{i:02d}",
            email=["Shared@Example.com", "shared@example.com"][i % 2],
            last_login=now - timezone.timedelta(days=i) if i != 0 else None,
        )
    OldUser.objects.create(username="loner", email="loner@example.com")
    OldUser.objects.create(username="blank1", email="")
    OldUser.objects.create(username="blank2", email="")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    holders = list(User.objects.filter(email__iexact="shared@example.com").values_list("username", flat=True))
    assert holders == ["dup01"]  # the most recent log-in (dup00 never logged in)
    assert User.objects.filter(username__startswith="dup", email="").count() == 12
    assert User.objects.get(username="loner").email == "loner@example.com"
    assert User.objects.filter(email="").count() == 14
    assert "Cleared the shared e-mail address of 12 account(s)" in capsys.readouterr().out
