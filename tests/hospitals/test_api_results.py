"""The API's hospital contract: scans by accession number, and the reading as DICOM SR, heatmap
Secondary Capture and FHIR DiagnosticReport, under the scan's own access rule."""

from __future__ import annotations

import io

import pydicom
import pytest
from fhir.resources.R4B.diagnosticreport import DiagnosticReport

from audit.models import AuditEvent
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import (
    PatientFactory,
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    private_media,  # noqa: F401
)
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return RadiologistFactory()


@pytest.fixture
def site_scan(reader):
    scan = site_reading().scan
    scan.site.readers.add(reader)
    return scan


def ids(response) -> list[int]:
    return [scan["id"] for scan in response.json()["results"]]


def test_a_sites_reader_finds_a_study_by_its_accession_number(reader, site_scan):
    site_reading(site=site_scan.site)  # another study of the same site
    accession = site_scan.dicom_origin.accession_number
    response = token_client(reader).get("/api/v1/scans/", {"accession_number": accession})
    assert response.status_code == 200 and ids(response) == [site_scan.pk]
    assert response.json()["results"][0]["accession_number"] == accession
    assert response.json()["results"][0]["site"] == site_scan.site.name
    assert AuditEvent.objects.filter(object_type="dicomorigin", actor=reader, detail__contains="accession").exists()


def test_another_radiologist_finds_nothing_by_a_sites_accession_number(site_scan):
    accession = site_scan.dicom_origin.accession_number
    response = token_client(RadiologistFactory()).get("/api/v1/scans/", {"accession_number": accession})
    assert response.status_code == 200 and ids(response) == []


def test_a_parent_finds_their_own_dicom_upload_by_its_accession_number():
    patient = PatientFactory()
    own = ScanFactory(owner=patient.owner, patient=patient, dicom=True, accession_number="HOSP-77")
    ScanFactory(owner=patient.owner, patient=patient)
    ScanFactory(dicom=True, accession_number="HOSP-77")  # another family's, same number elsewhere
    response = token_client(patient.owner).get("/api/v1/scans/", {"accession_number": "HOSP-77"})
    assert ids(response) == [own.pk]


def test_the_reader_downloads_the_reading_as_a_dicom_sr_in_the_sites_study(reader, site_scan):
    response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/dicom-sr/")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    report = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
    origin = site_scan.dicom_origin
    assert report.Modality == "SR"
    assert report.StudyInstanceUID == origin.study_instance_uid
    assert report.AccessionNumber == origin.accession_number
    assert report.PatientID == origin.patient_id


def test_the_reader_downloads_the_heatmap_as_a_secondary_capture_in_the_same_study(reader, site_scan):
    response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/dicom-heatmap/")
    assert response.status_code == 200 and response["Content-Type"] == "application/dicom"
    capture = pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content)))
    assert capture.StudyInstanceUID == site_scan.dicom_origin.study_instance_uid
    assert capture.PhotometricInterpretation == "RGB"


def test_the_fhir_report_validates_and_says_the_reading_is_not_a_diagnosis(reader, site_scan):
    response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/fhir/")
    assert response.status_code == 200 and response["Content-Type"] == "application/fhir+json"
    report = DiagnosticReport.model_validate(response.json())
    assert report.status == "preliminary"
    assert "not a diagnosis" in report.conclusion


def test_the_fhir_report_is_final_once_a_radiologist_has_signed(reader, site_scan):
    ReviewFactory(prediction=site_scan.latest_prediction, radiologist=reader)
    response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/fhir/")
    assert DiagnosticReport.model_validate(response.json()).status == "final"


@pytest.mark.parametrize("result", ["dicom-sr", "dicom-heatmap", "fhir"])
def test_someone_who_may_not_see_the_scan_gets_404(site_scan, result):
    response = token_client(RadiologistFactory()).get(f"/api/v1/scans/{site_scan.pk}/{result}/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize("result", ["dicom-sr", "dicom-heatmap", "fhir"])
def test_a_scan_without_a_reading_has_no_result_yet(result):
    scan = ScanFactory()
    response = token_client(scan.owner).get(f"/api/v1/scans/{scan.pk}/{result}/")
    assert response.status_code == 404


def test_a_parent_gets_the_sr_of_their_own_upload(settings):
    reading = PredictionFactory(normal=True)
    response = token_client(reading.scan.owner).get(f"/api/v1/scans/{reading.scan.pk}/dicom-sr/")
    assert response.status_code == 200
    assert pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content))).Modality == "SR"


def test_a_reading_held_until_review_is_not_given_to_the_parent_as_sr(settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    reading = PredictionFactory()
    response = token_client(reading.scan.owner).get(f"/api/v1/scans/{reading.scan.pk}/fhir/")
    assert response.status_code == 404


def test_two_installations_give_the_same_scan_different_result_uids(reader, site_scan, settings):
    def sr_uid() -> str:
        response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/dicom-sr/")
        return pydicom.dcmread(io.BytesIO(b"".join(response.streaming_content))).SOPInstanceUID

    first = sr_uid()
    assert sr_uid() == first  # the same result is the same instance to a PACS
    settings.SECRET_KEY = "another-installation-" + "x" * 50
    assert sr_uid() != first
