"""create_scan: a scan row and its stored PNG exist together or not at all."""

from pathlib import Path

import pytest

from scans.models import Scan
from scans.services import ClinicalContext, create_scan
from scans.validation import ValidatedUpload
from tests.factories import GREY_PNG, PatientFactory, private_media  # noqa: F401


def validated() -> ValidatedUpload:
    return ValidatedUpload(GREY_PNG, 64, 64, "PNG", len(GREY_PNG), "0" * 64, "grey.png")


def account_and_context():
    patient = PatientFactory()
    return patient.owner, validated(), ClinicalContext(patient)


def stored_files(settings) -> list[Path]:
    media = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [path for path in media.rglob("*") if path.is_file()]


def test_it_stores_the_png_and_queues_the_scan_on_commit(db, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        scan = create_scan(*account_and_context())

    assert scan.status == Scan.Status.QUEUED
    assert scan.queued_at is not None
    stored = {path.suffix: path.read_bytes() for path in stored_files(settings)}
    assert stored.keys() == {".png", ".dcm"}  # the picture, and its Secondary Capture for DICOMweb
    assert stored[".png"] == GREY_PNG and stored[".dcm"][128:132] == b"DICM"
    assert len(callbacks) == 1


def test_a_failure_after_storing_leaves_neither_row_nor_file(db, settings, monkeypatch):
    def broken_queue(scan):
        raise RuntimeError("broker down")

    monkeypatch.setattr(Scan, "start_inference", broken_queue)

    with pytest.raises(RuntimeError):
        create_scan(*account_and_context())

    assert not Scan.objects.exists()
    assert stored_files(settings) == []
