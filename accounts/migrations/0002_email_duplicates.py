"""Before e-mail addresses become unique (case-insensitive): settle the accounts that share one.

The address stays with the account its owner used last (latest log-in, then the newest sign-up); the
others keep their username and password but lose the address, so a password reset can no longer mail
them. Their usernames are printed, so staff can reach the people behind them.
"""

from django.db import migrations
from django.db.models import Count, F
from django.db.models.functions import Lower


def settle_shared_addresses(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    shared = (
        User.objects.exclude(email="")
        .annotate(address=Lower("email"))
        .values("address")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("address", flat=True)
    )
    cleared = []
    for address in list(shared):
        accounts = User.objects.annotate(address=Lower("email")).filter(address=address)
        keeper = accounts.order_by(F("last_login").desc(nulls_last=True), "-date_joined", "-id").first()
        others = accounts.exclude(pk=keeper.pk)
        cleared += list(others.values_list("username", flat=True))
        User.objects.filter(pk__in=others.values("pk")).update(email="")
    if cleared:
        print(f"\n  Cleared the shared e-mail address of {len(cleared)} account(s): {', '.join(sorted(cleared))}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(settle_shared_addresses, migrations.RunPython.noop, elidable=False)]
