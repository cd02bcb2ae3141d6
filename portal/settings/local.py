"""Development on embedded defaults (`make run`): SQLite, the filesystem broker, email printed."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import env, logging_config, mailers

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="development-only-key-never-used-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
MAILERS = mailers(default_url="consolemail://")
WHITENOISE_USE_FINDERS = True  # static files straight from their folders, no collectstatic needed
# Security keys over plain http://localhost, for trying them out in development.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = True
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = logging_config(LOG_FORMAT)
