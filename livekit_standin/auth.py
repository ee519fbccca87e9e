"""Access tokens, checked as LiveKit checks them (``pkg/service/auth.go``): HS256 signed with the API secret,
``iss`` = the API key, ``exp`` required; a bad or expired token is a plain-text 401."""

import time

import jwt


class Refused(Exception):
    """A token LiveKit would refuse: ``status`` and the plain-text body LiveKit answers with."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status, self.text = status, text


def verify(token: str, *, api_key: str, api_secret: str, clock_skew: int = 0) -> dict:
    if not token:
        raise Refused(401, "no authorization header")
    try:
        claims = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            issuer=api_key,
            options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "iss"]},
        )
    except jwt.PyJWTError as error:
        raise Refused(401, f"invalid token: {error}") from error
    now = time.time() + clock_skew
    if claims["exp"] < now or claims.get("nbf", 0) > now + 60:
        raise Refused(401, "invalid token: token is expired (exp)")
    return claims


def join_grant(claims: dict) -> tuple[str, dict]:
    """The identity and video grant of a token used to join a room (``EnsureJoinPermission``)."""
    video = claims.get("video") or {}
    if not video.get("roomJoin"):
        raise Refused(401, "permissions denied: roomJoin is required")
    if not video.get("room"):
        raise Refused(401, "permissions denied: a room is required")
    identity = claims.get("sub") or ""
    if not identity:
        raise Refused(401, "permissions denied: an identity is required")
    return identity, video
