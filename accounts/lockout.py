"""How django-axes names an account: usernames are case-insensitive, so BOB and bob share one count."""

from django.http import HttpRequest


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    username = (credentials or {}).get("username") or request.POST.get("username")
    return username.strip().lower() if username else None
