"""StreamIt settings: one module, every value read from the environment (see .env.example).

Development defaults are safe to run on a laptop; with DEBUG off, the values production must set are
required and start-up fails with ImproperlyConfigured naming the missing one.
"""

import logging
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from streamit.cache import caches_for

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# The values `livekit-server --dev` uses, so a developer with a local LiveKit needs no configuration.
DEV_LIVEKIT_API_KEY = "devkey"
DEV_LIVEKIT_API_SECRET = "secret"
DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"


def _required_in_production(name: str, dev_default, cast=str):
    """Read a variable that may fall back to a development default only while DEBUG is on."""
    value = env(name, cast=cast, default=None)
    if value in (None, "", []):
        if not DEBUG:
            raise ImproperlyConfigured(f"Set the {name} environment variable (required when DEBUG is off).")
        return dev_default
    return value


def _production_opt_out(*, missing: bool, variable: str, why: str, opt_out: str, opt_out_means: str) -> bool:
    """With DEBUG off, a development fallback is refused unless the operator opts out explicitly.

    Returns whether an opt-out is in use. Each one is logged at every start, so it stays visible rather
    than silently becoming how production runs.
    """
    if DEBUG or not missing:
        return False
    if not env.bool(opt_out, default=False):
        raise ImproperlyConfigured(
            f"Set the {variable} environment variable (required when DEBUG is off): {why}. "
            f"Or set {opt_out}=true: {opt_out_means}."
        )
    # Logging is not configured yet: a WARNING reaches stderr through logging's last-resort handler.
    logging.getLogger("streamit.settings").warning("%s=true: %s.", opt_out, opt_out_means)
    return True


SECRET_KEY = _required_in_production("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = _required_in_production(
    "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"], cast=list
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "accounts",
    "streams",
    "viewers",
    "webhooks",
    "analytics",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body (CSRF reads request.POST): an oversized request gets 413 unread.
    "streamit.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "streamit.csp.StreamItCSPMiddleware",
    # Last, as django-axes requires: it turns a locked-out log-in into its lockout response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses log-ins while an account is locked out
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "streamit.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "streamit.wsgi.application"
ASGI_APPLICATION = "streamit.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60 if not DEBUG else 0)
# A kept connection is checked before a request uses it: one PostgreSQL dropped (restart, failover, idle
# timeout) is replaced instead of failing the next request in every worker.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Throttles and log-in lockouts live in this cache, so production needs one shared by every worker (Redis).
if not DEBUG and not env("CACHE_URL", default=""):
    raise ImproperlyConfigured(
        "Set the CACHE_URL environment variable (e.g. redis://host:6379/1): rate limits and log-in lockouts "
        "must be shared by every worker."
    )
# Redis down or frozen: pages, tokens and log-in keep working; which limits fail open or closed is
# decided in streamit/cache.py (and listed in the README).
CACHE_SOCKET_TIMEOUT = env.float("CACHE_SOCKET_TIMEOUT", default=0.25)
CACHES = caches_for(env("CACHE_URL", default="locmemcache://streamit"), socket_timeout=CACHE_SOCKET_TIMEOUT)
# Each failure is a miss; the outage itself is logged once per process (streamit.cache), not per call.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
RATELIMIT_USE_CACHE = "limits"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Thumbnails go to local files unless an S3-compatible bucket is configured (hosts that deploy
# from a Procfile lose local files on restart).
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
_media_storage = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "querystring_auth": False,
        },
    }
    if AWS_STORAGE_BUCKET_NAME
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
)
# Without a bucket, thumbnails are files under MEDIA_ROOT, which nothing serves once DEBUG is off: production
# either sets a bucket or says SERVE_LOCAL_MEDIA=true, and then the site serves them itself (streamit/urls.py;
# one machine whose disk survives restarts).
SERVE_LOCAL_MEDIA = not AWS_STORAGE_BUCKET_NAME and (
    DEBUG
    or _production_opt_out(
        missing=True,
        variable="AWS_STORAGE_BUCKET_NAME",
        why="with DEBUG off nothing serves thumbnails stored as local files",
        opt_out="SERVE_LOCAL_MEDIA",
        opt_out_means="the site serves thumbnails from MEDIA_ROOT itself",
    )
)
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

_CONSOLE_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
_production_opt_out(
    missing=EMAIL_CONFIG["EMAIL_BACKEND"] in _CONSOLE_EMAIL_BACKENDS,
    variable="EMAIL_URL",
    why="password-reset mail would go to the console, not to people (e.g. smtp+tls://user:pass@host:587)",
    opt_out="ALLOW_CONSOLE_EMAIL",
    opt_out_means="password-reset mail goes to the console",
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="StreamIt <noreply@localhost>")

# --- LiveKit -------------------------------------------------------------------------------------
LIVEKIT_URL = env("LIVEKIT_URL", default="ws://localhost:7880")
LIVEKIT_API_KEY = env("LIVEKIT_API_KEY", default=DEV_LIVEKIT_API_KEY)
LIVEKIT_API_SECRET = env("LIVEKIT_API_SECRET", default=DEV_LIVEKIT_API_SECRET)
LIVEKIT_ROOM_PREFIX = env("LIVEKIT_ROOM_PREFIX", default="")
LIVEKIT_TIMEOUT = env.float("LIVEKIT_TIMEOUT", default=5.0)
LIVEKIT_TOKEN_TTL = env.int("LIVEKIT_TOKEN_TTL", default=300)
# Chat messages older than this many days are deleted by `manage.py prune_chat` (0: kept for ever).
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=30)
# How often an offline watch page asks whether the stream went live (with jitter, +/-20%).
WATCH_POLL_SECONDS = env.int("WATCH_POLL_SECONDS", default=10)
# Thumbnail uploads: checked by decoding them with Pillow.
THUMBNAIL_MAX_BYTES = env.int("THUMBNAIL_MAX_BYTES", default=2 * 1024 * 1024)
THUMBNAIL_MAX_DIMENSION = env.int("THUMBNAIL_MAX_DIMENSION", default=3840)
# Every request body is capped (streamit/middleware.py); views that take a thumbnail allow that much more.
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=1024 * 1024)
if not DEBUG and (LIVEKIT_API_SECRET == DEV_LIVEKIT_API_SECRET or LIVEKIT_API_KEY == DEV_LIVEKIT_API_KEY):
    raise ImproperlyConfigured(
        "LIVEKIT_API_KEY and LIVEKIT_API_SECRET still hold the development values: "
        "set them to your LiveKit project's key and secret."
    )

# --- Celery --------------------------------------------------------------------------------------
# Without a broker, tasks run eagerly in the calling process, so a fresh machine needs no Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
_production_opt_out(
    missing=not CELERY_BROKER_URL,
    variable="CELERY_BROKER_URL",
    why="background work (old-key clean-up, chat-rights fan-out to every viewer) would run inside requests",
    opt_out="ALLOW_INLINE_TASKS",
    opt_out_means="background tasks run inside the request that starts them",
)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# --- REST framework ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Not signed in is 401, signed in without the right 403 (the stock session class makes both 403).
    "DEFAULT_AUTHENTICATION_CLASSES": ["streamit.authentication.SessionAuthentication"],
    # Domain errors and LiveKit outages get their status here, and every error body is {"detail": …}.
    "EXCEPTION_HANDLER": "streamit.api_errors.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only; the thumbnail upload view adds multipart for itself.
    "DEFAULT_PARSER_CLASSES": ["streamit.parsers.JSONParser"],  # deep nesting is a 400, not a 500
    "DEFAULT_SCHEMA_CLASS": "streamit.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 24,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
SPECTACULAR_SETTINGS = {
    "TITLE": "StreamIt API",
    "DESCRIPTION": "Creator, viewer and webhook endpoints of StreamIt.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Abuse limits --------------------------------------------------------------------------------
# How many reverse proxies in front of the site append to X-Forwarded-For. 0: the header is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "token_user": env("THROTTLE_TOKEN_USER", default="60/min"),
    "token_ip": env("THROTTLE_TOKEN_IP", default="60/min"),
    "credentials": env("THROTTLE_CREDENTIALS", default="30/min"),
    "social": env("THROTTLE_SOCIAL", default="60/min"),
}
RATELIMIT_IP_META_KEY = "streamit.client_ip.client_ip"
RATE_LIMIT_SIGNUP = env("RATE_LIMIT_SIGNUP", default="10/h")
RATE_LIMIT_PASSWORD_RESET = env("RATE_LIMIT_PASSWORD_RESET", default="5/h")

# Log-in lockout (django-axes, accounts/lockout.py): the 6th wrong password for a username locks that account,
# on the site and the admin, until the cool-off passes or staff run `manage.py axes_reset_username <name>`;
# LOGIN_IP_FAILURE_LIMIT failures under any names lock the client address (`axes_reset_ip <ip>`). Kept in
# the "limits" cache, so the counts hold across workers and machines when CACHE_URL is Redis.
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_CACHE = "limits"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=6)
LOGIN_IP_FAILURE_LIMIT = env.int("LOGIN_IP_FAILURE_LIMIT", default=30)
AXES_COOLOFF_TIME = env.float("LOGIN_LOCKOUT_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username"]
# axes.W006 asks for ip_address above; the handler counts client addresses itself, with their own limit.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
if DEBUG:
    # One development process: the local-memory cache is enough, and axes need not warn about it.
    SILENCED_SYSTEM_CHECKS.append("axes.W001")
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
AXES_CLIENT_IP_CALLABLE = "streamit.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True

# --- Security (production) -----------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    # Behind a proxy that terminates TLS and sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
# Both bind more than this site (every subdomain; browsers' preload lists, hard to leave): opt-in only.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# check --deploy warns about each one left off; that is the operator's decision, made above.
SILENCED_SYSTEM_CHECKS += [
    *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
    *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# No inline script or style and no third-party origin: page JS comes from our static files and is configured
# through data-* attributes. The LiveKit URL is added to connect-src per request (streamit/csp.py).
_media_domain = env("AWS_S3_CUSTOM_DOMAIN", default="")
_media_origin = f"https://{_media_domain}" if _media_domain else env("AWS_S3_ENDPOINT_URL", default="")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *([_media_origin] if _media_origin else [])],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
