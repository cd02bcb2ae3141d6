"""What every environment shares, driven by environment variables (every one in docs/configuration.md).

local.py (development, the default), production.py (DJANGO_ENV=production) and test.py (pytest) add
what differs; portal/settings/__init__.py picks local or production by DJANGO_ENV.
"""

import re
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"  # for code that must refuse to run in a deployment (seed_demo)
VAR_DIR = Path(env.str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.usersessions",
    "allauth.mfa",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "patients",
    "scans",
    "inference",
    "reviews",
    "audit",
    "api",
    "operations",
    "exports",
    "hospitals",
    "adaptation",
]

MIDDLEWARE = [
    "operations.middleware.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    # After sessions and before CommonMiddleware, as Django asks; URLs carry no language prefix.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AccountLanguageMiddleware",  # needs request.user, overrides LocaleMiddleware's pick
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "accounts.mfa.RequireMfaForStaffMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "portal.urls"
CSRF_FAILURE_VIEW = "portal.errors.csrf_failure"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "scans.context_processors.upload_limits",
            ],
        },
    },
]

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let web and worker write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# django-allauth: email is the login, verified before first use outside development.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# Throttling and lockout: 10 failed logins a minute from one address, and 5 in 5 minutes for one account,
# after which even the right password is refused until the window has passed. The counters live in the
# cache (CACHE_URL), which every web process must share, and the address is the client's as the
# TRUSTED_PROXY_COUNT proxies in front of the portal saw it, not whatever X-Forwarded-For a client sends.
# Second factor (allauth.mfa): an authenticator app with recovery codes, or a security key / passkey.
# Required for staff and radiologists on these paths (accounts.mfa); optional for patients.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Pneumonia screening"
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_REQUIRED_PATHS = ("/admin/", "/reviews/", "/staff/")
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Django 6.1's MAILERS (EMAIL_BACKEND and EMAIL_HOST & co. are deprecated), made from EMAIL_URL by
# mailers(); local.py prints email by default, production.py sends it through SMTP.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="screening@localhost")


def mailers(default_url: str) -> dict:
    return {"default": _mailer(env.str("EMAIL_URL", default=default_url))}


def _mailer(url: str) -> dict:
    parsed = env.email_url_config(url)
    if parsed["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options = {
            "host": parsed["EMAIL_HOST"],
            "port": parsed["EMAIL_PORT"],
            "username": parsed["EMAIL_HOST_USER"] or None,
            "password": parsed["EMAIL_HOST_PASSWORD"] or None,
            "use_tls": parsed.get("EMAIL_USE_TLS", False),
            "use_ssl": parsed.get("EMAIL_USE_SSL", False),
            "timeout": 10,  # a hung mail server must not hold a worker for long; the task retries
        }
        return {"BACKEND": parsed["EMAIL_BACKEND"], "OPTIONS": options}
    return {"BACKEND": parsed["EMAIL_BACKEND"]}


# Parents read the portal in their own language: LocaleMiddleware takes it from the language cookie (the
# picker in every page's footer) or Accept-Language, and accounts.middleware.AccountLanguageMiddleware
# from a signed-in user's saved choice. Radiologist and staff pages are written in English only.
# Each language is named in itself, as the picker lists it. "en-gb" keeps British date formats.
LANGUAGE_CODE = "en-gb"
LANGUAGES = [
    ("en-gb", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("pt-br", "Português (Brasil)"),  # the catalogue is Brazilian; Django maps pt and pt-PT browsers to it
    ("zh-hans", "简体中文"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Only British English's date-and-time is ours (portal/formats); other locales use Django's own.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Uploaded X-rays and heatmaps are never given a public URL: views check access, then stream the file
# (local storage) or redirect to a link the bucket accepts for PRIVATE_FILE_URL_SECONDS (S3).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
PRIVATE_FILE_URL_SECONDS = env.int("PRIVATE_FILE_URL_SECONDS", default=60)
if not 1 <= PRIVATE_FILE_URL_SECONDS <= 604_800:
    raise ImproperlyConfigured("PRIVATE_FILE_URL_SECONDS must be 1 to 604800 (a week, S3's longest signed link).")


def s3_storage(bucket: str, endpoint_url: str | None, public_endpoint_url: str | None, region: str | None) -> dict:
    return {
        "BACKEND": "portal.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "public_endpoint_url": public_endpoint_url,
            "region_name": region,
            # SigV4 everywhere: botocore would sign us-east-1 links with SigV2, which has no X-Amz-Expires.
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": PRIVATE_FILE_URL_SECONDS,
            "file_overwrite": False,
        },
    }


def bucket_origin(bucket: str, endpoint_url: str | None) -> str:
    """Where browsers fetch signed links from, for the CSP: the endpoint (boto3 then makes path-style
    URLs), or AWS's virtual-hosted address of the bucket."""
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    return f"https://{bucket}.s3.amazonaws.com"


AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    _endpoint_url = env.str("AWS_S3_ENDPOINT_URL", default=None)
    # The address browsers reach the bucket at, when it differs from the portal's (docker-compose).
    _public_endpoint_url = env.str("AWS_S3_PUBLIC_ENDPOINT_URL", default=None)
    _region = env.str("AWS_S3_REGION_NAME", default=None)
    _private_storage = s3_storage(AWS_STORAGE_BUCKET_NAME, _endpoint_url, _public_endpoint_url, _region)
    _file_origins = [bucket_origin(AWS_STORAGE_BUCKET_NAME, _public_endpoint_url or _endpoint_url)]
else:
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None, "file_permissions_mode": 0o640},
    }
    _file_origins = []
STORAGES = {
    "default": _private_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Uploads: limits shown on the upload page and enforced by scans.validation.
SCAN_MAX_UPLOAD_BYTES = env.int("SCAN_MAX_UPLOAD_BYTES", default=30 * 1024 * 1024)
SCAN_MAX_FILES_PER_UPLOAD = env.int("SCAN_MAX_FILES_PER_UPLOAD", default=10)
# One STOW-RS request (api.dicomweb) is read whole: a few radiographs, each within the upload limit.
STOW_MAX_REQUEST_BYTES = env.int("STOW_MAX_REQUEST_BYTES", default=4 * SCAN_MAX_UPLOAD_BYTES)
# ...and must have arrived whole this many seconds after the request was taken up, or it is answered 408
# (api.request_body): a body declared and never sent holds a web worker that long, not until the client goes.
STOW_BODY_SECONDS = env.float("STOW_BODY_SECONDS", default=60.0)
# Per user and hour, web and API together (scans.quota).
SCAN_UPLOADS_PER_HOUR = env.int("SCAN_UPLOADS_PER_HOUR", default=60)
SCAN_UPLOAD_BYTES_PER_HOUR = env.int("SCAN_UPLOAD_BYTES_PER_HOUR", default=600 * 1000 * 1000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Django's own cap sits above ours so the form, not a bare 400, tells the patient about the limit.
DATA_UPLOAD_MAX_NUMBER_FILES = SCAN_MAX_FILES_PER_UPLOAD + 20
# Staff's zips of reference films (adaptation): the upload, what it may unpack to (a zip bomb is refused
# from its headers before anything is read) and how many films it may hold.
REFERENCE_ZIP_MAX_BYTES = env.int("REFERENCE_ZIP_MAX_BYTES", default=1024 * 1024 * 1024)
REFERENCE_ZIP_MAX_UNPACKED_BYTES = env.int("REFERENCE_ZIP_MAX_UNPACKED_BYTES", default=4 * 1024 * 1024 * 1024)
REFERENCE_ZIP_MAX_FILMS = env.int("REFERENCE_ZIP_MAX_FILMS", default=20_000)
# Serving model; empty means the one shipped in ml/artifacts.
SCAN_MODEL_PATH = env.str("SCAN_MODEL_PATH", default="") or None
# Interpreter threads per worker process; 0 means the cores each pool process has to itself.
SCAN_MODEL_THREADS = env.int("SCAN_MODEL_THREADS", default=0)
if SCAN_MODEL_THREADS < 0:
    raise ImproperlyConfigured(
        "SCAN_MODEL_THREADS must be a whole number of threads, or 0 for the cores each worker process has to itself."
    )

# Celery: the embedded default is kombu's filesystem transport, which needs no server.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_REDIS_TRANSPORT_OPTIONS = {
    # Redis redelivers unacknowledged tasks after visibility_timeout: keep it above the hard time limit
    # so a slow task is never run twice while still running.
    "visibility_timeout": 900,
    "polling_interval": 0.1,
    # A Redis that is down or hung must not hold an upload: connecting gives up after 1 s and a command
    # after 2 s (above the 1 s BRPOP poll the worker waits on).
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
_BROKER_FOLDER = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT = "portal.broker:FilesystemTransport"  # kombu's, without its lost messages
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_FOLDER),
        "data_folder_out": str(_BROKER_FOLDER),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        # The folder is listed again this long after it was found empty, and a worker with prefetch 1
        # finds it empty after every task, so this wait caps a worker's scans per second; listing it
        # this often costs an idle worker little.
        "polling_interval": 0.01,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = _REDIS_TRANSPORT_OPTIONS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Sending a task tries twice, 0.2 s apart, then gives up: the scan stays queued and the sweeper
# (requeue_stuck_scans) sends it again once the broker is back. An upload never waits on the broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the worker's database connection before and after every task unless told to reuse it
# (celery/celery#4116): a new PostgreSQL connection per scan costs time and a server process. Reused
# for this many tasks; portal.celery applies CONN_MAX_AGE and the health check before each
# task, as Django does before each request, so a restarted database costs no task.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "scans"
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-scans": {"task": "inference.tasks.requeue_stuck_scans", "schedule": 60.0},
    "release-abandoned-review-claims": {"task": "reviews.tasks.release_abandoned_claims", "schedule": 300.0},
    "tidy-data-exports": {"task": "exports.tasks.tidy_data_exports", "schedule": 600.0},
    "resend-undelivered-results": {"task": "hospitals.tasks.resend_undelivered_results", "schedule": 600.0},
    "requeue-adaptation-jobs": {"task": "adaptation.tasks.requeue_unfinished", "schedule": 600.0},
}
# A prepared data export can be downloaded for this many days, then it is deleted.
EXPORT_KEEP_DAYS = env.int("EXPORT_KEEP_DAYS", default=7)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Scans left queued longer than this are enqueued again by the sweeper.
SCAN_REQUEUE_AFTER_SECONDS = env.int("SCAN_REQUEUE_AFTER_SECONDS", default=120)

# Radiologist review: a claimed case nobody finished goes back to the worklist after this many minutes.
REVIEW_CLAIM_MINUTES = env.int("REVIEW_CLAIM_MINUTES", default=30)
# Sites that want no model reading shown to a patient before a radiologist has seen it turn this on;
# every finished scan then goes to the worklist.
HOLD_AI_RESULTS_UNTIL_REVIEW = env.bool("HOLD_AI_RESULTS_UNTIL_REVIEW", default=False)
# The share of readings the model cleared that also go to the worklist, last, as quality-control samples:
# without them the radiologists' findings would describe flagged films only (verification bias). 0 turns
# sampling off.
QC_SAMPLE_RATE = env.float("QC_SAMPLE_RATE", default=0.05)
if not 0.0 <= QC_SAMPLE_RATE <= 1.0:
    raise ImproperlyConfigured("QC_SAMPLE_RATE must be a share between 0 and 1, such as 0.05.")
# The portal's address, for links in emails sent outside a request (by the worker).
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")

# Hospitals: the C-STORE listener (manage.py dicom_listener) their modalities and PACS send X-rays to.
# Calling AE titles are the sites' (hospitals.SiteAETitle), read from the database at each association.
DICOM_AE_TITLE = env.str("DICOM_AE_TITLE", default="PNEUMONIA")
DICOM_PORT = env.int("DICOM_PORT", default=11112)
# 0.0.0.0 in a container, whose published port is the way in; development listens on this machine only.
DICOM_BIND_ADDRESS = env.str("DICOM_BIND_ADDRESS", default="127.0.0.1")
# An uncompressed 43 x 43 cm detector's film is about 37 MB: more than a parent's upload may be.
DICOM_MAX_INSTANCE_BYTES = env.int("DICOM_MAX_INSTANCE_BYTES", default=100 * 1024 * 1024)
# What a flood of connections may hold, and for how long (hospitals.admission; docs/hospitals.md, "Floods").
# Seconds a connection may wait before its A-ASSOCIATE-RQ, and the association negotiation may take.
DICOM_ACSE_TIMEOUT = env.float("DICOM_ACSE_TIMEOUT", default=5)
# Seconds an association may stay silent (no PDU) before it is aborted, and a half-sent PDU may stall.
DICOM_NETWORK_TIMEOUT = env.float("DICOM_NETWORK_TIMEOUT", default=10)
# Seconds a DIMSE message may take to complete once started.
DICOM_DIMSE_TIMEOUT = env.float("DICOM_DIMSE_TIMEOUT", default=10)
# Open connections, all peers together; addresses a site's AE title is bound to have a reserved share
# on top. A PACS sends on a few parallel associations, so one address gets a handful more than that.
DICOM_MAX_CONNECTIONS = env.int("DICOM_MAX_CONNECTIONS", default=96)
DICOM_RESERVED_CONNECTIONS = env.int("DICOM_RESERVED_CONNECTIONS", default=32)
DICOM_MAX_CONNECTIONS_PER_PEER = env.int("DICOM_MAX_CONNECTIONS_PER_PEER", default=16)
# A peer's refusals are logged at most once in this many seconds, with how many there were.
DICOM_REFUSAL_LOG_SECONDS = env.float("DICOM_REFUSAL_LOG_SECONDS", default=10)
# How often the listener writes its counts for /metrics (hospitals.ListenerStatus).
DICOM_STATUS_SECONDS = env.float("DICOM_STATUS_SECONDS", default=5)
if not (DICOM_AE_TITLE.strip() and re.fullmatch(r"[\x20-\x5b\x5d-\x7e]{1,16}", DICOM_AE_TITLE)):
    raise ImproperlyConfigured("DICOM_AE_TITLE must be 1 to 16 plain ASCII characters, no backslash.")
if not 1 <= DICOM_PORT <= 65535:
    raise ImproperlyConfigured("DICOM_PORT must be a TCP port, 1 to 65535.")
if min(DICOM_ACSE_TIMEOUT, DICOM_NETWORK_TIMEOUT, DICOM_DIMSE_TIMEOUT, DICOM_STATUS_SECONDS) <= 0:
    raise ImproperlyConfigured("DICOM_*_TIMEOUT and DICOM_STATUS_SECONDS must be positive: none may wait forever.")
if not 1 <= DICOM_MAX_CONNECTIONS_PER_PEER <= DICOM_MAX_CONNECTIONS or DICOM_RESERVED_CONNECTIONS < 0:
    raise ImproperlyConfigured(
        "DICOM_MAX_CONNECTIONS_PER_PEER must be 1 to DICOM_MAX_CONNECTIONS; DICOM_RESERVED_CONNECTIONS 0 or more."
    )

# REST API (/api/v1/): token authentication only, JSON in and out, every user throttled. The counts
# live in the cache (CACHE_URL), which the web processes must share for the rates to hold.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_ANON_RATE", default="30/minute"),
        "user": env.str("API_USER_RATE", default="120/minute"),
        # DICOMweb reads (QIDO-RS, WADO-RS) counted apart: a viewer opening studies asks for many small
        # pieces (metadata, frames, priors), and must neither use up nor be stopped by the API's rate.
        "dicomweb": env.str("DICOMWEB_USER_RATE", default="600/minute"),
        # Password guesses through the token endpoint, per address.
        "token": env.str("API_TOKEN_RATE", default="10/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pneumonia screening API",
    "DESCRIPTION": (
        "Upload chest X-rays (JPEG, PNG or DICOM), poll for the computer reading and fetch the PDF report. "
        "Authenticate with `Authorization: Token <token>` from POST /api/v1/auth/token/. "
        "A screening aid, not a diagnosis."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Separate request and response components, so uploads are documented as binary files.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"LabelEnum": "scans.models.Prediction.Label"},
    # The docs page's JavaScript and CSS come from the drf-spectacular-sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_common_responses",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Security: the production check (manage.py check --deploy) passes with these.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True  # no script reads the token: forms carry it
CSRF_COOKIE_SAMESITE = "Lax"
# An idle timeout: a login ends after this long unused. Use pushes the expiry on, writing the session
# at most once every SESSION_REFRESH_SECONDS (accounts.middleware.IdleTimeoutMiddleware).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=60)
# Only this site's own scripts, styles, images and forms; no inline code, no framing, no plugins.
# Pico's stylesheet draws its icons from data: URLs. A template that needs an inline script gives it
# the nonce: <script nonce="{{ csp_nonce }}">.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *_file_origins],  # the bucket's, where images redirect to
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Operations: workers stamp a heartbeat this often; the health page calls one stale after the second.
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=15)
WORKER_HEARTBEAT_STALE_SECONDS = env.int("WORKER_HEARTBEAT_STALE_SECONDS", default=60)
# A new API token is accepted for this many days, then refused; the tokens page shows when.
API_TOKEN_DAYS = env.int("API_TOKEN_DAYS", default=90)
# Prometheus scrapes /metrics with this bearer token (staff can read it logged in); empty: staff only.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")


def logging_config(log_format: str) -> dict:
    """Both formats carry the scan and the Celery task a line is about (operations.log_context)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "operations.log_context.ContextFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(scan_id)s %(task_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
