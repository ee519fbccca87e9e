"""Participant identities in a creator's LiveKit room: their formats, defined here and nowhere else.

The seed's naming: the room is the creator's user id; the encoder (the ingress, OBS) publishes as the
creator's user id, and a signed-in viewer joins as their own user id; the creator watching their own
room joins as ``Host-<userId>`` so the self-view never evicts the encoder; a guest joins as
``guest-<ms>-<random>``. The pages get these through ``data-*`` attributes (``page_identities``), never
by typing the formats again in JavaScript.
"""

import re
import secrets
import time

HOST_PREFIX = "Host-"
GUEST_PREFIX = "guest-"
_GUEST = re.compile(r"^guest-\d{13}-[0-9a-f]{8}$")
# A signed-in viewer's identity; written so Python and JavaScript read it alike (ASCII digits only).
USER_PATTERN = "^[0-9]+$"
_USER = re.compile(USER_PATTERN)


def user_identity(user_id: int) -> str:
    """A signed-in viewer; also the creator's encoder (the ingress publishes as its creator)."""
    return str(user_id)


publisher_identity = user_identity


def host_identity(user_id: int) -> str:
    """The creator watching their own room."""
    return f"{HOST_PREFIX}{user_id}"


def guest_identity_new() -> str:
    # Made by the server, random enough that two guests never share one (a shared identity evicts).
    return f"{GUEST_PREFIX}{int(time.time() * 1000)}-{secrets.token_hex(4)}"


def is_guest_identity(identity: str) -> bool:
    return bool(_GUEST.match(identity))


def user_id_from_identity(identity: str) -> int | None:
    """The user behind a signed-in viewer's identity, or None (ASCII digits only: "²" is no user)."""
    return int(identity) if _USER.fullmatch(identity) else None


def page_identities(host_id: int) -> dict[str, str]:
    """What the page's JavaScript compares identities with, for ``data-*`` attributes."""
    return {
        "publisher": publisher_identity(host_id),
        "host": host_identity(host_id),
        "guest_prefix": GUEST_PREFIX,
        "user_pattern": USER_PATTERN,
    }
