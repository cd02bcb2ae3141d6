"""Production log lines are JSON objects that name the scan and the Celery task they are about."""

import io
import json
import logging
import logging.config

import pytest
from django.core.files.base import ContentFile

from inference.services import MAX_ATTEMPTS
from inference.tasks import run_inference
from scans.models import Scan
from tests.factories import ScanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_log(settings):
    """The settings' own JSON formatter and context filter, writing to a buffer."""
    buffer = io.StringIO()
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": settings.LOGGING["filters"],
        "formatters": {"json": settings.LOGGING["formatters"]["json"]},
        "handlers": {
            "buffer": {"class": "logging.StreamHandler", "stream": buffer, "formatter": "json", "filters": ["context"]}
        },  # fmt: skip
        "loggers": {"inference": {"handlers": ["buffer"], "level": "INFO", "propagate": False}},
    }
    logging.config.dictConfig(config)
    yield buffer
    logging.config.dictConfig(settings.LOGGING)


def test_a_task_log_line_carries_the_scan_and_the_task_id(json_log):
    scan = ScanFactory(image=ContentFile(b"not an image", name="x.png"))
    Scan.objects.filter(pk=scan.pk).update(attempts=MAX_ATTEMPTS)  # the next attempt gives up and logs

    run_inference.apply(kwargs={"scan_id": scan.pk}, task_id="task-4711")

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    failure = next(line for line in lines if "failed after" in line["message"])
    assert failure["scan_id"] == scan.pk
    assert failure["task_id"] == "task-4711"
    assert failure["level"] == "ERROR" and failure["logger"] == "inference.services"


def test_a_line_outside_any_task_says_so(json_log):
    logging.getLogger("inference.services").warning("nothing to do")
    line = json.loads(json_log.getvalue())
    assert line["scan_id"] is None and line["task_id"] is None
