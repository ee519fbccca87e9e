"""The viewer token endpoint's hot path: a well-formed request answered without DRF's machinery.

Every watch page asks for a token at each connect, so this is the site's busiest endpoint. What a token
request must do is: read the host's name or id, know the caller (session), apply both throttles, find the
host, decide the grants and sign. A request DRF would accept exactly as it is sent (``read``) is answered
here with the same rules, through the same functions: the API's authenticator (the session, CSRF for a
signed-in caller), ``TokenThrottle``, ``host_get``'s cache and ``viewer_token_issue``; on Redis
the throttles and the host's cached copy come in one round trip. Its answers are sent by
``streamit.plain_json``.

Anything else (another method or content type, a value DRF would convert or refuse, a CSRF failure, a
throttled caller) returns None before any count is taken, and DRF's full path answers it, errors and all:
one contract, documented by ``ViewerTokenApi``'s serializers.
"""

import json
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError
from rest_framework.exceptions import PermissionDenied

from accounts.validators import could_be_username
from streamit import redis_scripts
from streamit.authentication import SessionAuthentication
from streamit.cache import redis_client
from streamit.errors import DomainError
from streamit.plain_json import accepts_plain_json
from streamit.throttles import TokenThrottle
from streams import selectors as stream_selectors
from streams import services as stream_services

logger = logging.getLogger(__name__)

FIELDS = {"hostId", "username", "guestName"}
USERNAME_MAX = 150  # as ViewerTokenApi.InputSerializer
GUEST_NAME_MAX = 1000
HOST_ID_MAX = 2**31 - 1  # larger ids go the long way (DRF's IntegerField has no upper bound)


@dataclass(frozen=True)
class TokenAsk:
    host_id: int | None
    username: str | None
    guest_name: str


def _plain_text(value, *, max_length: int) -> bool:
    """A string DRF's CharField keeps as it is: no surrounding space to trim, no NUL, no lone surrogate."""
    if type(value) is not str or len(value) > max_length or value != value.strip() or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON")


def read(request) -> TokenAsk | None:
    """The fields of a request that DRF's parser and ``InputSerializer`` would accept exactly as sent,
    with the same meaning (a hostId wins over a username); None for any other request."""
    if (
        request.method != "POST"
        or not accepts_plain_json(request)
        or request.content_type != "application/json"
    ):
        return None
    if request.encoding is not None and request.encoding.lower().replace("-", "") != "utf8":
        return None
    try:
        # As DRF's parser reads it: UTF-8 (json.loads would also take UTF-16 and UTF-32 bytes), no NaN.
        data = json.loads(request.body.decode("utf-8"), parse_constant=_refuse)
    except Exception:  # noqa: BLE001 - malformed, too deep, not UTF-8, NaN: DRF's parser words the 400
        return None
    if type(data) is not dict or not data.keys() <= FIELDS or not data.keys() & {"hostId", "username"}:
        return None
    host_id, username, guest_name = data.get("hostId"), data.get("username"), data.get("guestName", "")
    if "hostId" in data and not (type(host_id) is int and 1 <= host_id <= HOST_ID_MAX):
        return None
    if "username" in data and not (_plain_text(username, max_length=USERNAME_MAX) and username):
        return None
    if "guestName" in data and not _plain_text(guest_name, max_length=GUEST_NAME_MAX):
        return None
    if host_id is not None:
        username = None
    return TokenAsk(host_id=host_id, username=username, guest_name=guest_name)


def _caller(request):
    """The caller as the API's one authenticator, ``SessionAuthentication``, takes them: the session's
    active user with CSRF enforced, else None (a guest). Not through a DRF Request: on a refusal DRF sets
    the Django request's user to anonymous, and DRF's path would then serve the request as a guest's.
    ``test_token_fast`` fails if the API gains another authenticator this does not know."""
    user = request.user
    if not user or not user.is_active:
        return None
    SessionAuthentication().enforce_csrf(request)
    return user


def _throttled_and_host(request, ask: TokenAsk) -> tuple[bool, stream_selectors.Host | None]:
    """Both limits and the host; on Redis in one round trip."""
    throttle = TokenThrottle()
    client = redis_client()
    if client is None:
        if not throttle.allow_request(request, None):
            return True, None
        return False, stream_selectors.host_get(username=ask.username, user_id=ask.host_id)
    if ask.username is not None and not could_be_username(ask.username):
        return not throttle.allow_request(request, None), None
    calls = [stream_selectors.host_read_call(username=ask.username, user_id=ask.host_id)]
    if (throttle_call := throttle.redis_call(request)) is not None:
        calls.append(throttle_call)
    try:
        answers = redis_scripts.run(client, calls)
    except RedisError as error:  # as each would alone: the limits fail open, the host is a cache miss
        logger.debug("Token round trip failed: %s", error)
        answers = [None]
    if len(answers) > 1 and not throttle.read_answer(answers[1]):
        return True, None
    return False, stream_selectors.host_from_read(answers[0], username=ask.username, user_id=ask.host_id)


def answer(request) -> dict | None:
    """The token body for a request this path can answer, raising DomainError (404) as the API does;
    None to leave the request to DRF."""
    ask = read(request)
    if ask is None:
        return None
    try:
        viewer = _caller(request)
    except PermissionDenied:  # a signed-in caller without the CSRF token: DRF's path refuses it
        return None
    throttled, host = _throttled_and_host(request, ask)
    if throttled:
        return None  # nothing was counted: DRF's throttle refuses it again, with DRF's Retry-After
    if host is None:
        raise DomainError(stream_services.NO_SUCH_STREAM, "missing")
    issued = stream_services.viewer_token_issue(viewer=viewer, host=host, guest_name=ask.guest_name)
    return {"token": issued.token, "identity": issued.identity, "name": issued.name, "wsUrl": issued.ws_url}
