"""A site's identifiers of a study (its accession number and patient ID) are its patient's: every way of
showing them to a reader records that it did, the same way (actions.scans.show_scan and the results'
downloads), so a new way of showing cannot forget the record."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import RadiologistFactory, private_media  # noqa: F401
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


def on_the_web(reader, url):
    client = Client()
    client.force_login(reader)
    return client.get(url)


WAYS_OF_SHOWING = {
    "scan page": lambda reader, scan: on_the_web(reader, scan.get_absolute_url()),
    "SR from the page": lambda reader, scan: on_the_web(reader, reverse("hospitals:structured-report", args=[scan.pk])),
    "FHIR from the page": lambda reader, scan: on_the_web(reader, reverse("hospitals:fhir-report", args=[scan.pk])),
    "site studies page": lambda reader, scan: on_the_web(reader, reverse("hospitals:studies")),
    "review page": lambda reader, scan: on_the_web(reader, reverse("reviews:case", args=[scan.pk])),
    "API detail": lambda reader, scan: token_client(reader).get(f"/api/v1/scans/{scan.pk}/"),
    "API list": lambda reader, scan: token_client(reader).get("/api/v1/scans/"),
    "API SR": lambda reader, scan: token_client(reader).get(f"/api/v1/scans/{scan.pk}/dicom-sr/"),
    "API FHIR": lambda reader, scan: token_client(reader).get(f"/api/v1/scans/{scan.pk}/fhir/"),
}


@pytest.mark.parametrize("way", sorted(WAYS_OF_SHOWING))
def test_each_way_of_showing_a_sites_study_records_its_identifiers_shown(reader, site_scan, way):
    response = WAYS_OF_SHOWING[way](reader, site_scan)

    assert response.status_code == 200
    shown = AuditEvent.objects.filter(
        object_type="dicomorigin", object_id=site_scan.dicom_origin.pk, actor=reader, action="viewed"
    )
    assert shown.exists()


def test_the_api_detail_that_returns_the_accession_number_records_it(reader, site_scan):
    response = token_client(reader).get(f"/api/v1/scans/{site_scan.pk}/")

    assert response.json()["accession_number"] == site_scan.dicom_origin.accession_number
    assert AuditEvent.objects.filter(object_type="dicomorigin", actor=reader, detail="api").count() == 1


def test_the_admin_pages_that_show_a_sites_identifiers_record_them(site_scan):
    from tests.factories import StaffFactory

    staff = StaffFactory(is_superuser=True)
    client = Client()
    client.force_login(staff)

    listed = client.get(reverse("admin:hospitals_dicomorigin_changelist"))
    opened = client.get(reverse("admin:hospitals_dicomorigin_change", args=[site_scan.dicom_origin.pk]))

    assert listed.status_code == opened.status_code == 200
    assert site_scan.dicom_origin.accession_number in opened.content.decode()
    events = AuditEvent.objects.filter(actor=staff, action="viewed", object_type="dicomorigin")
    assert events.filter(object_id=site_scan.dicom_origin.pk, detail="admin").exists()
    assert events.filter(detail="admin: list of DICOM origins").exists()


def test_the_pdf_report_records_its_download_and_carries_no_site_identifier(reader, site_scan):
    response = on_the_web(reader, reverse("scans:report", args=[site_scan.pk]))

    assert response.status_code == 200
    from scans.report import report_story

    story = report_story(site_scan, reader)  # the PDF's text, before it is compressed onto pages
    text = "\n".join(flowable.getPlainText() for flowable in story if hasattr(flowable, "getPlainText"))
    assert site_scan.latest_prediction.model_version in text
    assert site_scan.dicom_origin.accession_number not in text
    assert AuditEvent.objects.filter(actor=reader, action="downloaded", object_id=site_scan.pk).exists()
