"""Session authentication that tells a caller who is not signed in 401, as the seed does.

DRF answers 401 only when the first authenticator names a ``WWW-Authenticate`` challenge; the stock
session class names none, so "not signed in" and "signed in without the right" would both be 403.
"""

from drf_spectacular.authentication import SessionScheme as _SessionScheme
from rest_framework.authentication import SessionAuthentication as _SessionAuthentication


class SessionAuthentication(_SessionAuthentication):
    def authenticate_header(self, request) -> str:
        return 'Session realm="StreamIt"'


class SessionScheme(_SessionScheme):
    """The OpenAPI schema documents it as the session cookie, like the stock class."""

    target_class = "streamit.authentication.SessionAuthentication"
