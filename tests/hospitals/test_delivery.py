"""Results back to the hospital: a real Orthanc sends a study to the listener, a real Celery worker reads
it and sends the SR and the heatmap capture into the same study, and again the SR once a radiologist
has signed; an unreachable PACS leaves the delivery pending with its error, for retries and the admin."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pydicom
import pytest
from django.utils import timezone

from actions.readings import resend_undelivered_results, revision_in_sql
from actions.reviews import sign_review
from hospitals import delivery
from hospitals.models import ResultDelivery, Site
from hospitals.scan_results import revision_of
from reviews import services as reviews
from scans.models import Scan

# Not private_media: the worker process must read the files these tests store.
from tests.factories import RadiologistFactory, ReviewFactory
from tests.hospitals.factories import site_reading
from tests.hospitals.orthanc import free_port
from tests.hospitals.studies import chest_radiograph, identifiers

SR_STORAGE, SC_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33", "1.2.840.10008.5.1.4.1.1.7"
DELIVERY_TIMEOUT_SECONDS = 90  # the reading and the sending, on two busy cores


def results_in(orthanc, study_uid: str, sop_class: str, count: int = 1) -> list[pydicom.Dataset]:
    """Wait until the PACS holds `count` instances of this class in the study; them, newest last."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = orthanc.find_instances(StudyInstanceUID=study_uid, SOPClassUID=sop_class)
        if len(found) >= count:
            datasets = [pydicom.dcmread(io.BytesIO(orthanc.file(found_id))) for found_id in found]
            return sorted(datasets, key=lambda dataset: int(dataset.InstanceNumber))
        time.sleep(0.5)
    pytest.fail(f"Orthanc holds no {sop_class} in study {study_uid} after {DELIVERY_TIMEOUT_SECONDS}s")


@pytest.fixture
def site_with_destination(orthanc_site, orthanc):
    orthanc_site.destination_ae_title, orthanc_site.destination_host = orthanc.ae_title, orthanc.host
    orthanc_site.destination_port = orthanc.dicom_port
    orthanc_site.save()
    return orthanc_site


def test_orthanc_gets_the_reading_back_as_sr_and_heatmap_in_the_study_it_sent(
    orthanc_sending, site_with_destination, celery_worker_process, chest_pixels, wait_for_scan
):
    sent = chest_radiograph(chest_pixels)
    original = identifiers(sent)
    orthanc_sending.send_to_portal([orthanc_sending.upload(sent)])
    scan = wait_for_scan(Scan.objects.get(site=site_with_destination))
    assert scan.status == Scan.Status.DONE

    (report,) = results_in(orthanc_sending, original["StudyInstanceUID"], SR_STORAGE)
    (capture,) = results_in(orthanc_sending, original["StudyInstanceUID"], SC_STORAGE)
    assert report.AccessionNumber == original["AccessionNumber"] and report.PatientID == original["PatientID"]
    assert report.VerificationFlag == "UNVERIFIED"
    referenced = report.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert referenced.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == original["SOPInstanceUID"]
    assert capture.PhotometricInterpretation == "RGB"
    assert set(ResultDelivery.objects.filter(scan=scan).values_list("state", flat=True)) == {"sent"}


def test_a_signed_review_sends_a_verified_sr_into_the_same_study(
    orthanc_sending, site_with_destination, celery_worker_process, chest_pixels, wait_for_scan
):
    sent = chest_radiograph(chest_pixels)
    study_uid = identifiers(sent)["StudyInstanceUID"]
    orthanc_sending.send_to_portal([orthanc_sending.upload(sent)])
    scan = wait_for_scan(Scan.objects.get(site=site_with_destination))
    results_in(orthanc_sending, study_uid, SR_STORAGE)
    reader = RadiologistFactory()
    site_with_destination.readers.add(reader)
    reviews.open_case_for_reading(scan, scan.latest_prediction)  # on the list whatever the model said
    assert reviews.claim(scan.pk, reader)
    sign_review(scan, reader, finding="no_pneumonia", patient_note="Clear lungs.")

    first, signed = results_in(orthanc_sending, study_uid, SR_STORAGE, count=2)
    assert first.VerificationFlag == "UNVERIFIED" and signed.VerificationFlag == "VERIFIED"
    assert signed.SOPInstanceUID != first.SOPInstanceUID


@pytest.mark.django_db
def test_an_unreachable_pacs_leaves_the_results_pending_with_the_error():
    reading = site_reading()
    site = reading.scan.site
    site.destination_ae_title, site.destination_host, site.destination_port = "PACS", "127.0.0.1", free_port()
    site.save()
    with pytest.raises(delivery.DeliveryFailed):
        delivery.deliver_results(reading.scan.pk)
    rows = ResultDelivery.objects.filter(scan=reading.scan)
    assert {(row.state, row.attempts) for row in rows} == {("pending", 1)}
    assert all("no association" in row.last_error for row in rows)

    delivery.give_up(reading.scan.pk, "PACS unreachable for an hour")
    assert set(rows.values_list("state", flat=True)) == {"failed"}


@pytest.mark.django_db
def test_a_redelivered_task_sends_nothing_twice(orthanc, orthanc_site):
    reading = site_reading(site=orthanc_site)
    orthanc_site.destination_ae_title, orthanc_site.destination_host = orthanc.ae_title, orthanc.host
    orthanc_site.destination_port = orthanc.dicom_port
    orthanc_site.save()
    assert delivery.deliver_results(reading.scan.pk).sent == 2
    again = delivery.deliver_results(reading.scan.pk)
    assert again.sent == 0 and again.already_sent == 2
    assert len(orthanc.instances()) == 2


@pytest.mark.django_db
def test_a_site_without_a_destination_gets_nothing_sent():
    reading = site_reading()
    assert delivery.deliver_results(reading.scan.pk).reason == "the site has no destination for results"
    assert not ResultDelivery.objects.exists()


def with_destination(site):
    site.destination_ae_title, site.destination_host, site.destination_port = "PACS", "127.0.0.1", 104
    site.save()
    return site


def finished_ago(reading, hours: float):
    Scan.objects.filter(pk=reading.scan_id).update(finished_at=timezone.now() - timedelta(hours=hours))
    return reading


@pytest.mark.django_db
def test_the_sweeper_queues_results_whose_task_never_ran(django_capture_on_commit_callbacks):
    lost = finished_ago(site_reading(), hours=3)
    with_destination(lost.scan.site)
    sent = finished_ago(site_reading(site=lost.scan.site), hours=3)
    ResultDelivery.objects.create(scan=sent.scan, kind="sr", revision=1, sop_instance_uid="2.25.7", state="sent")
    recent = finished_ago(site_reading(site=lost.scan.site), hours=0.2)  # its retries may still be running
    nowhere = finished_ago(site_reading(), hours=3)  # a site without a destination
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert resend_undelivered_results() == 1
    assert len(callbacks) == 1
    assert {recent.scan.site.has_destination, nowhere.scan.site.has_destination} == {True, False}


@pytest.mark.django_db
def test_the_sweeper_queues_the_verified_sr_after_a_review_whose_task_never_ran(django_capture_on_commit_callbacks):
    reading = finished_ago(site_reading(), hours=3)
    with_destination(reading.scan.site)
    ResultDelivery.objects.create(scan=reading.scan, kind="sr", revision=1, sop_instance_uid="2.25.8", state="sent")
    ReviewFactory(prediction=reading, created_at=reading.scan.finished_at)
    with django_capture_on_commit_callbacks(execute=False):
        assert resend_undelivered_results() == 1


def everything_sent(scan, revision=1):
    for kind in ResultDelivery.Kind:
        ResultDelivery.objects.create(
            scan=scan, kind=kind, revision=revision, sop_instance_uid=f"2.25.{scan.pk}{revision}{len(kind)}",
            state="sent",
        )  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("destination", [True, False])
def test_the_sender_and_the_sweeper_agree_on_which_sites_have_a_destination(
    django_capture_on_commit_callbacks, destination
):
    reading = finished_ago(site_reading(), hours=3)
    site = with_destination(reading.scan.site) if destination else reading.scan.site

    with django_capture_on_commit_callbacks(execute=False):
        queued = resend_undelivered_results()
    everything_sent(reading.scan)

    assert site.has_destination == destination
    assert Site.objects.with_destination().filter(pk=site.pk).exists() == destination
    assert queued == (1 if destination else 0)
    said_nowhere = delivery.deliver_results(reading.scan_id).reason == "the site has no destination for results"
    assert said_nowhere != destination


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reviewed, settled, due",
    [(False, [], True), (False, [1], False), (True, [1], True), (True, [1, 2], False), (True, [2], False)],
)
def test_the_sender_and_the_sweeper_agree_on_the_current_revision(
    django_capture_on_commit_callbacks, reviewed, settled, due
):
    reading = finished_ago(site_reading(), hours=3)
    with_destination(reading.scan.site)
    if reviewed:
        ReviewFactory(prediction=reading, created_at=reading.scan.finished_at)
    for revision in settled:
        ResultDelivery.objects.create(
            scan=reading.scan, kind="sr", revision=revision, sop_instance_uid=f"2.25.9{revision}", state="failed"
        )
    scan = Scan.objects.get(pk=reading.scan_id)

    with django_capture_on_commit_callbacks(execute=False):
        queued = resend_undelivered_results()

    assert revision_of(scan) == (2 if reviewed else 1)
    assert Scan.objects.annotate(revision=revision_in_sql()).get(pk=scan.pk).revision == revision_of(scan)
    assert queued == (1 if due else 0)
