"""Username rules: usernames are part of URLs (/<username>/live), so they are short, URL-safe and never
collide with a top-level path of the site."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

RESERVED_USERNAMES = frozenset(
    {
        "about", "accounts", "admin", "api", "blocked", "dashboard", "help", "home", "live", "login",
        "logout", "media", "password", "root", "search", "settings", "signup", "static", "staff", "streamit",
        "support", "system", "users", "viewer", "webhook", "webhooks",
    }
)  # fmt: skip

username_format_validator = RegexValidator(
    regex=r"^[A-Za-z0-9_-]{3,30}\Z",
    message="Use 3 to 30 characters: letters, digits, underscores and hyphens.",
    code="invalid_username",
)


def could_be_username(value: str) -> bool:
    """A cheap check before a lookup: text that no username can match never reaches the database."""
    return username_format_validator.regex.match(value) is not None


def validate_username_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_USERNAMES:
        raise ValidationError("This username is reserved.", code="reserved_username")
