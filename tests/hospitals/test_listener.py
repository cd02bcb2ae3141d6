"""Hospitals send chest X-rays to the portal's C-STORE listener: from a real Orthanc and with dcmtk's
storescu, as their PACS and modalities do. Only their sites' AE titles get in, each instance is
validated and queued like an upload and answered with a DICOM status, and a study sent twice is read once."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, JPEGLosslessSV1, JPEGLSLossless, RLELossless
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from hospitals.models import DicomOrigin
from portal.celery import app
from scans.models import RUN_INFERENCE_TASK, Scan
from tests.conftest import session_worker_paused
from tests.factories import SiteAETitleFactory, SiteFactory, private_media  # noqa: F401
from tests.hospitals.dcmtk import compress, echoscu, storescu
from tests.hospitals.listener_process import start_listener
from tests.hospitals.orthanc import free_port
from tests.hospitals.studies import chest_radiograph, ct_slice, identifiers, multi_frame

MODALITY = "DEMO_MODALITY"


@pytest.fixture
def task_queue():
    """The Celery queue uploads go to, emptied now; call it for the scan ids queued since.

    A session's Celery worker (started by earlier tests) would take the messages first: it stops
    consuming the queue while the test runs, and the test's messages are purged before it resumes."""
    with session_worker_paused():
        app.control.purge()
        yield queued_scan_ids
        app.control.purge()


def queued_scan_ids() -> list[int]:
    ids = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE, no_ack=True)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                return ids
            if message.headers.get("task") == RUN_INFERENCE_TASK:
                ids.append(message.decode()[1]["scan_id"])


@pytest.fixture
def modality_site(transactional_db):
    """A clinic whose X-ray room sends with storescu from DEMO_MODALITY."""
    return SiteFactory(name="Demo Clinic", ae_titles=[MODALITY])


def associate(listener, calling: str, sop_class=Verification, transfer_syntax=ExplicitVRLittleEndian):
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    ae.add_requested_context(sop_class, transfer_syntax)
    return ae.associate(listener.host, listener.port, ae_title=listener.ae_title)


def c_store(listener, data: bytes, calling: str = MODALITY):
    """Send one instance with pynetdicom as the SCU; the status dataset the listener answered."""
    dataset = dcmread(io.BytesIO(data))
    assoc = associate(listener, calling, dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    assert assoc.is_established, "the listener refused the association"
    try:
        return assoc.send_c_store(dataset)
    finally:
        assoc.release()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- From a PACS: Orthanc --------------------------------------------------------------------------


def test_a_study_orthanc_sends_becomes_a_queued_scan_of_the_site(
    orthanc_sending, orthanc_site, chest_pixels, task_queue
):
    instance = orthanc_sending.upload(chest_radiograph(chest_pixels))
    as_the_pacs_has_it = orthanc_sending.instance_tags(instance)

    orthanc_sending.send_to_portal([instance])

    origin = DicomOrigin.objects.select_related("scan").get()
    scan = origin.scan
    assert (scan.site, scan.owner, scan.status) == (orthanc_site, None, Scan.Status.QUEUED)
    assert task_queue() == [scan.pk]
    kept = {
        "StudyInstanceUID": origin.study_instance_uid,
        "SeriesInstanceUID": origin.series_instance_uid,
        "SOPInstanceUID": origin.sop_instance_uid,
        "AccessionNumber": origin.accession_number,
        "PatientID": origin.patient_id,
        "PatientName": origin.patient_name,
    }
    assert kept == {keyword: as_the_pacs_has_it[keyword] for keyword in kept}
    assert (origin.received_via, origin.calling_ae_title) == (DicomOrigin.Via.C_STORE, orthanc_sending.ae_title)


def test_the_stored_copy_of_a_study_orthanc_sends_is_deidentified(orthanc_sending, orthanc_site, chest_pixels):
    instance = orthanc_sending.upload(chest_radiograph(chest_pixels))
    as_the_pacs_has_it = orthanc_sending.instance_tags(instance)

    orthanc_sending.send_to_portal([instance])

    with Scan.objects.get().dicom_file.open("rb") as stored:
        data = stored.read()
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID", "SOPInstanceUID"):
        assert as_the_pacs_has_it[keyword].encode() not in data, keyword
    assert b"Jane" not in data


def test_a_study_orthanc_sends_twice_is_read_once(orthanc_sending, orthanc_site, chest_pixels, task_queue):
    instance = orthanc_sending.upload(chest_radiograph(chest_pixels))

    orthanc_sending.send_to_portal([instance])
    orthanc_sending.send_to_portal([instance])  # the PACS's operator pressed "send" again

    scan = Scan.objects.get()
    assert DicomOrigin.objects.get().scan == scan
    assert task_queue() == [scan.pk]


def test_orthanc_can_echo_the_listener(orthanc_sending, orthanc_site):
    assert orthanc_sending.echo("portal")


# --- From a modality: dcmtk's storescu ---------------------------------------------------------------


@pytest.mark.pacs
def test_a_study_storescu_sends_becomes_a_scan_of_the_modalitys_site(
    dicom_listener, modality_site, chest_pixels, tmp_path
):
    sent = chest_radiograph(chest_pixels)

    finished = storescu([write(tmp_path, "chest.dcm", sent)], dicom_listener.port, calling=MODALITY)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    origin = DicomOrigin.objects.select_related("scan").get()
    assert origin.scan.site == modality_site and origin.calling_ae_title == MODALITY
    assert origin.sop_instance_uid == identifiers(sent)["SOPInstanceUID"]


@pytest.mark.pacs
@pytest.mark.parametrize(
    ("tool", "proposed", "syntax"),
    [("dcmcjpeg", "-xs", JPEGLosslessSV1), ("dcmcjpls", "-xt", JPEGLSLossless), ("dcmcrle", "-xr", RLELossless)],
    ids=["JPEG lossless", "JPEG-LS lossless", "RLE"],
)
def test_a_compressed_study_from_storescu_is_read(
    dicom_listener, modality_site, chest_pixels, tmp_path, tool, proposed, syntax
):
    original = write(tmp_path, "chest.dcm", chest_radiograph(chest_pixels))
    compressed = compress(original, tmp_path / "compressed.dcm", tool=tool)
    assert dcmread(compressed).file_meta.TransferSyntaxUID == syntax

    finished = storescu([compressed], dicom_listener.port, calling=MODALITY, options=[proposed])

    assert finished.returncode == 0, finished.stdout + finished.stderr
    with Scan.objects.get().dicom_file.open("rb") as stored:
        assert dcmread(stored).file_meta.TransferSyntaxUID == syntax  # received as sent, not transcoded


@pytest.mark.pacs
def test_storescu_hears_why_a_ct_is_refused(dicom_listener, modality_site, chest_pixels, tmp_path):
    ct = write(tmp_path, "ct.dcm", ct_slice(chest_pixels))

    finished = storescu([ct], dicom_listener.port, calling=MODALITY, options=["-d"])  # -d: the response in full

    output = finished.stdout + finished.stderr
    assert "DIMSE Status                  : 0xc000: Error: Cannot understand" in output, output
    assert "[This DICOM file is a CT study, not a chest X-ray]" in output  # the ErrorComment
    assert not Scan.objects.exists()


# --- Who may send ----------------------------------------------------------------------------------


@pytest.mark.pacs
def test_an_unknown_calling_ae_title_is_rejected_at_association(dicom_listener, modality_site, chest_pixels, tmp_path):
    finished = storescu([write(tmp_path, "chest.dcm", chest_radiograph(chest_pixels))], dicom_listener.port,
                        calling="STRANGER")  # fmt: skip

    assert finished.returncode != 0
    assert "Calling AE Title Not Recognized" in finished.stdout + finished.stderr
    assert associate(dicom_listener, "STRANGER").is_rejected
    assert not Scan.objects.exists()


def test_the_rejection_of_an_unknown_calling_ae_title_is_logged(dicom_listener, transactional_db, caplog):
    with caplog.at_level(logging.WARNING, logger="hospitals"):
        assert associate(dicom_listener, "STRANGER").is_rejected
    assert "unknown calling AE title 'STRANGER'" in caplog.text


def test_an_inactive_sites_modality_is_rejected(dicom_listener, modality_site):
    modality_site.is_active = False
    modality_site.save(update_fields=["is_active"])

    assert associate(dicom_listener, MODALITY).is_rejected


def test_a_calling_ae_title_bound_to_another_address_is_rejected_from_this_one(dicom_listener, transactional_db):
    SiteAETitleFactory(ae_title="WARD_DX", host="10.1.2.3")

    assert associate(dicom_listener, "WARD_DX").is_rejected


def test_a_site_added_while_the_listener_runs_can_send_at_once(dicom_listener, transactional_db, chest_pixels):
    assert associate(dicom_listener, "NEW_CLINIC").is_rejected

    SiteFactory(ae_titles=["NEW_CLINIC"])

    assert c_store(dicom_listener, chest_radiograph(chest_pixels), calling="NEW_CLINIC").Status == 0x0000
    assert Scan.objects.count() == 1


@pytest.mark.pacs
def test_a_sender_calling_another_ae_title_is_rejected(dicom_listener, modality_site, chest_pixels, tmp_path):
    finished = storescu([write(tmp_path, "chest.dcm", chest_radiograph(chest_pixels))], dicom_listener.port,
                        calling=MODALITY, called="NOT_PNEUMONIA")  # fmt: skip

    assert finished.returncode != 0
    assert "Called AE Title Not Recognized" in finished.stdout + finished.stderr


# --- What is refused, and how the sender hears it -------------------------------------------------


@pytest.mark.parametrize(
    ("study", "why"),
    [
        (ct_slice, "CT"),
        (multi_frame, "frames"),
        (lambda pixels: chest_radiograph(pixels, BodyPartExamined="SKULL"), "skull"),
    ],
    ids=["CT", "multi-frame", "skull"],
)
def test_what_is_not_a_chest_radiograph_gets_a_failure_status_and_no_scan(
    dicom_listener, modality_site, chest_pixels, caplog, study, why
):
    with caplog.at_level(logging.INFO, logger="hospitals"):
        status = c_store(dicom_listener, study(chest_pixels))

    assert status.Status == 0xC000
    assert why in status.ErrorComment and len(status.ErrorComment) <= 64
    assert not Scan.objects.exists() and not DicomOrigin.objects.exists()
    refusals = [record.getMessage() for record in caplog.records if "0xC000" in record.getMessage()]
    assert refusals and why in refusals[0]


def test_the_same_instance_sent_twice_on_one_association_is_one_scan(dicom_listener, modality_site, chest_pixels):
    data = chest_radiograph(chest_pixels)
    dataset = dcmread(io.BytesIO(data))
    assoc = associate(dicom_listener, MODALITY, dataset.SOPClassUID)
    try:
        statuses = [assoc.send_c_store(dataset).Status, assoc.send_c_store(dataset).Status]
    finally:
        assoc.release()

    assert statuses == [0x0000, 0x0000]
    assert Scan.objects.count() == 1


def test_a_site_deactivated_during_an_association_may_send_no_more_on_it(dicom_listener, modality_site, chest_pixels):
    data = chest_radiograph(chest_pixels)
    dataset = dcmread(io.BytesIO(data))
    assoc = associate(dicom_listener, MODALITY, dataset.SOPClassUID)
    try:
        modality_site.is_active = False
        modality_site.save(update_fields=["is_active"])
        status = assoc.send_c_store(dataset)
    finally:
        assoc.release()

    assert status.Status == 0x0124  # Refused: Not Authorised
    assert not Scan.objects.exists()


def test_a_storage_failure_asks_the_sender_to_send_again_later(
    dicom_listener, modality_site, chest_pixels, settings, tmp_path, caplog
):
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("storage cannot make folders under a file")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": not_a_folder}},
    }

    status = c_store(dicom_listener, chest_radiograph(chest_pixels))

    assert status.Status == 0xA700  # Out of Resources: senders retry
    assert not Scan.objects.exists()
    assert "C-STORE from DEMO_MODALITY failed" in caplog.text


# --- C-ECHO and the listener process ------------------------------------------------------------------


@pytest.mark.pacs
def test_a_sites_modality_can_echo_the_listener(dicom_listener, modality_site):
    finished = echoscu(dicom_listener.port, calling=MODALITY)

    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_dicom_echo_answers_for_a_site_and_its_liveness_check_for_anyone(dicom_listener, modality_site, capsys):
    port = dicom_listener.port
    call_command("dicom_echo", port=port, called_ae_title="PNEUMONIA", calling_ae_title=MODALITY)
    call_command("dicom_echo", port=port, called_ae_title="PNEUMONIA", alive=True)
    with pytest.raises(CommandError, match="unknown calling AE title"):
        call_command("dicom_echo", port=port, called_ae_title="PNEUMONIA")
    assert capsys.readouterr().out.count("answered: ") == 2


def test_dicom_echo_fails_when_nothing_listens(transactional_db):
    with pytest.raises(CommandError, match="no answer"):
        call_command("dicom_echo", port=free_port(), alive=True)


@pytest.mark.processes
def test_the_listener_command_serves_until_sigterm(modality_site, tmp_path):
    listener = start_listener(free_port(), tmp_path / "listener.log")
    try:
        call_command("dicom_echo", port=listener.port, calling_ae_title=MODALITY)
    finally:
        returncode = listener.stop()
    assert returncode == 0, listener.log()
