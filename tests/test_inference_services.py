"""Running the real shipped model on stored scans, under retries, redelivery and lost messages."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from inference import services
from inference.heatmaps import colourise, render_heatmap_png
from ml.constants import DEFAULT_DATA_DIR
from ml.preprocessing import decode, encode_png
from reviews.models import ReviewCase
from scans.models import Prediction, Scan
from scans.notifications import EMAIL_RESULT_READY_TASK
from tests.factories import ScanFactory, private_media  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db
# The shipped model reads it 0.008 against a review_from of 0.08: cleared, and no case to open.
CLEARED_FILM = "IM-0115-0001.jpeg"


@pytest.fixture
def xray_scan(xray_bytes):
    decoded = decode(xray_bytes)
    width, height = decoded.size
    return ScanFactory(image=ContentFile(encode_png(decoded), name="x.png"), width=width, height=height)


@pytest.fixture
def cleared_scan():
    """A NORMAL film of the shared set the shipped model reads as normal with a wide margin."""
    path = DEFAULT_DATA_DIR / "NORMAL" / CLEARED_FILM
    if not path.exists():
        pytest.skip(f"{path} is not there")
    decoded = decode(path.read_bytes())
    width, height = decoded.size
    return ScanFactory(image=ContentFile(encode_png(decoded), name="x.png"), width=width, height=height)


def test_processing_a_queued_scan_writes_one_prediction_with_a_heatmap(xray_scan):
    assert services.process_scan(xray_scan.pk, task_id="task-1") == Scan.Status.DONE
    xray_scan.refresh_from_db()
    prediction = xray_scan.predictions.get()
    assert xray_scan.status == Scan.Status.DONE and xray_scan.finished_at and not xray_scan.worker_task_id
    assert 0.0 <= prediction.probability <= 1.0
    assert prediction.label in Prediction.Label.values
    assert prediction.needs_review == (prediction.label == "pneumonia" or prediction.indeterminate)
    assert prediction.heatmap.size > 0 and prediction.inference_ms > 0


def test_a_second_delivery_of_a_finished_scan_does_nothing(xray_scan):
    services.process_scan(xray_scan.pk, task_id="task-1")
    assert services.process_scan(xray_scan.pk, task_id="task-1") == "skipped"
    assert services.process_scan(xray_scan.pk, task_id="task-2") == "skipped"
    assert xray_scan.predictions.count() == 1


def test_a_scan_held_by_a_live_task_is_not_taken_by_another(xray_scan):
    assert services.take_for_task(xray_scan.pk, "task-1") is not None
    assert services.take_for_task(xray_scan.pk, "task-2") is None


def test_a_redelivered_task_takes_back_its_own_scan(xray_scan):
    services.take_for_task(xray_scan.pk, "task-1")  # the worker died here; the broker redelivers task-1
    assert services.process_scan(xray_scan.pk, task_id="task-1") == Scan.Status.DONE
    xray_scan.refresh_from_db()
    assert xray_scan.attempts == 2


def test_an_abandoned_claim_can_be_taken_over(xray_scan, settings):
    services.take_for_task(xray_scan.pk, "task-1")
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    Scan.objects.filter(pk=xray_scan.pk).update(started_at=long_ago)
    assert services.take_for_task(xray_scan.pk, "task-2") is not None


def test_a_prediction_already_written_by_a_lost_delivery_is_not_written_twice(xray_scan):
    services.process_scan(xray_scan.pk, task_id="task-1")
    Scan.objects.filter(pk=xray_scan.pk).update(status=Scan.Status.PROCESSING, worker_task_id="task-1")
    assert services.process_scan(xray_scan.pk, task_id="task-1") == Scan.Status.DONE
    assert xray_scan.predictions.count() == 1


def test_a_scan_that_keeps_crashing_fails_with_a_readable_reason_after_three_attempts(xray_scan):
    Scan.objects.filter(pk=xray_scan.pk).update(attempts=services.MAX_ATTEMPTS)
    assert services.process_scan(xray_scan.pk, task_id="task-9") == Scan.Status.FAILED
    xray_scan.refresh_from_db()
    assert "after several attempts" in xray_scan.status_reason
    assert not xray_scan.predictions.exists()


def test_an_unexpected_error_becomes_a_failed_status_not_a_crash(xray_scan):
    xray_scan.image.storage.delete(xray_scan.image.name)  # the stored file vanished
    assert services.process_scan(xray_scan.pk, task_id="task-1") == Scan.Status.FAILED
    xray_scan.refresh_from_db()
    assert "Something went wrong" in xray_scan.status_reason


def test_a_document_is_rejected_with_the_gates_reason(document_bytes):
    decoded = decode(document_bytes)
    scan = ScanFactory(image=ContentFile(encode_png(decoded), name="d.png"))
    assert services.process_scan(scan.pk, task_id="task-1") == Scan.Status.REJECTED
    scan.refresh_from_db()
    assert "not an X-ray" in scan.status_reason or "not look like" in scan.status_reason
    assert not scan.predictions.exists()


def test_the_sweeper_requeues_scans_whose_message_was_lost(settings, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(seconds=settings.SCAN_REQUEUE_AFTER_SECONDS + 5)
    stuck = ScanFactory(queued_at=old)
    abandoned = ScanFactory(status=Scan.Status.PROCESSING, started_at=old - timedelta(hours=1), worker_task_id="dead")
    fresh = ScanFactory()
    finished = ScanFactory(done=True, queued_at=old)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.requeue_stuck_scans() == 2
    assert len(callbacks) == 2
    for scan, status in ((stuck, "queued"), (abandoned, "queued"), (fresh, "queued"), (finished, "done")):
        scan.refresh_from_db()
        assert scan.status == status
    abandoned.refresh_from_db()
    assert abandoned.queued_at > old


def test_start_inference_enqueues_only_after_the_transaction_commits(xray_scan, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        xray_scan.start_inference()
    assert len(callbacks) == 1
    xray_scan.refresh_from_db()
    assert xray_scan.status == Scan.Status.QUEUED and xray_scan.queued_at


def test_a_rerun_revives_a_scan_that_failed_after_every_attempt(xray_scan, django_capture_on_commit_callbacks):
    Scan.objects.filter(pk=xray_scan.pk).update(
        status=Scan.Status.FAILED, attempts=services.MAX_ATTEMPTS + 1, status_reason=services.FAILED_AFTER_ATTEMPTS
    )
    xray_scan.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=False):
        xray_scan.rerun_with_current_model()

    assert services.process_scan(xray_scan.pk, task_id="rerun-1") == Scan.Status.DONE
    xray_scan.refresh_from_db()
    assert xray_scan.attempts == 1 and xray_scan.status_reason == ""


def test_the_sweeper_does_not_reset_attempts_so_a_poison_scan_still_fails(xray_scan):
    old = timezone.now() - timedelta(hours=2)
    Scan.objects.filter(pk=xray_scan.pk).update(
        status=Scan.Status.PROCESSING, attempts=services.MAX_ATTEMPTS, started_at=old, worker_task_id="dead"
    )
    services.requeue_stuck_scans()
    xray_scan.refresh_from_db()
    assert xray_scan.attempts == services.MAX_ATTEMPTS


def test_heatmap_overlay_has_the_images_aspect_ratio_and_fades_where_cold():
    import io

    import numpy as np
    from PIL import Image

    heat = np.zeros((224, 224), dtype=np.float32)
    heat[100:120, 100:120] = 1.0
    overlay = Image.open(io.BytesIO(render_heatmap_png(heat, 2000, 1000))).convert("RGBA")
    assert overlay.size == (512, 256)
    assert overlay.getpixel((0, 0))[3] == 0  # cold: transparent
    assert overlay.getpixel((256, 128))[3] > 200  # the hot square, scaled with the image
    assert colourise(np.zeros((2, 2)))[..., 3].max() == 0
    assert colourise(np.ones((2, 2)))[..., 3].min() > 200


def test_the_patient_email_is_queued_once_when_the_reading_is_ready(xray_scan, django_capture_on_commit_callbacks):
    queued = []
    for _delivery in ("first", "redelivered after finishing"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.process_scan(xray_scan.pk, task_id="task-1")
        queued += [c for c in callbacks if getattr(c, "args", None) == (EMAIL_RESULT_READY_TASK,)]
        Scan.objects.filter(pk=xray_scan.pk).update(status=Scan.Status.PROCESSING, worker_task_id="task-1")
    assert [c.keywords for c in queued] == [{"kwargs": {"scan_id": xray_scan.pk}}]


def test_the_web_queues_inference_under_the_name_the_worker_registers():
    from portal.celery import app
    from scans.models import RUN_INFERENCE_TASK

    app.loader.import_default_modules()  # what a worker imports at start
    assert app.tasks[RUN_INFERENCE_TASK].name == RUN_INFERENCE_TASK


def test_the_worker_puts_a_reading_that_needs_a_human_on_the_worklist(xray_scan):
    services.process_scan(xray_scan.pk, task_id="task-1")

    prediction = xray_scan.predictions.get()
    assert prediction.label == Prediction.Label.PNEUMONIA  # the film the shipped model flags (p ~ 0.999)
    case = ReviewCase.objects.get(scan=xray_scan)
    assert (case.state, case.reason) == (ReviewCase.State.WAITING, ReviewCase.Reason.PNEUMONIA)
    assert case.prediction == prediction


def test_the_worker_leaves_a_reading_the_model_clears_off_the_worklist(cleared_scan, settings):
    settings.QC_SAMPLE_RATE = 0.0  # no quality-control sample: the draw would put a cleared film on the list

    services.process_scan(cleared_scan.pk, task_id="task-1")

    prediction = cleared_scan.predictions.get()
    assert not prediction.needs_review  # the film the shipped model clears (p ~ 0.01, under review_from)
    assert not ReviewCase.objects.filter(scan=cleared_scan).exists()


def test_where_every_result_is_reviewed_the_worker_puts_each_reading_on_the_worklist(xray_scan, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True

    services.process_scan(xray_scan.pk, task_id="task-1")

    case = ReviewCase.objects.get(scan=xray_scan)
    assert case.state == ReviewCase.State.WAITING
    assert case.prediction == xray_scan.predictions.get()
