"""The test suite (pytest): development settings, plus what only the tests need."""

from portal.settings.base import DATABASES, VAR_DIR
from portal.settings.local import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the Celery worker process of the integration tests must see the same rows.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# Which scans the quality-control sample draws depends on their ids, which PostgreSQL's sequences do not
# roll back between tests: a test that samples sets the rate itself.
QC_SAMPLE_RATE = 0.0
