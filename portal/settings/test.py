"""The test suite (pytest): development settings, plus what only the tests need."""

from portal.settings.base import DATABASES, VAR_DIR
from portal.settings.local import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the Celery worker process of the integration tests must see the same rows.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
