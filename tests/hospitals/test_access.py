"""Who sees a site's studies: its readers and staff, not other radiologists or patients; the site's
identifiers of a study are shown only to them, and every showing is in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from actions.scans import visible_scans
from audit.models import AuditEvent
from reviews import services as reviews
from reviews.worklist import worklist
from tests.factories import RadiologistFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return RadiologistFactory()


@pytest.fixture
def flagged(reader):
    reading = site_reading()
    reading.scan.site.readers.add(reader)
    return reading.scan


def test_a_sites_reader_sees_its_studies_and_another_radiologist_does_not(reader, flagged):
    outsider = RadiologistFactory()
    assert visible_scans(reader).filter(pk=flagged.pk).exists()
    assert not visible_scans(outsider).filter(pk=flagged.pk).exists()
    assert not visible_scans(UserFactory()).filter(pk=flagged.pk).exists()


def test_a_sites_flagged_case_is_on_its_readers_worklist_only(reader, flagged):
    assert [case.scan_id for case in worklist(reader).cases] == [flagged.pk]
    assert list(worklist(RadiologistFactory()).cases) == []


def test_only_a_reader_can_claim_a_sites_case(reader, flagged):
    assert not reviews.claim(flagged.pk, RadiologistFactory())
    assert reviews.claim(flagged.pk, reader)


def test_the_scan_page_shows_the_reader_the_sites_identifiers_and_audits_it(client, reader, flagged):
    client.force_login(reader)
    page = client.get(flagged.get_absolute_url())
    origin = flagged.dicom_origin
    assert page.status_code == 200
    assert origin.accession_number in page.text and origin.patient_id in page.text
    assert f"on the worklist of {flagged.site.name}" in page.text  # a reader's next step, not a parent's
    assert "ask for one below" not in page.text
    assert AuditEvent.objects.filter(object_type="dicomorigin", object_id=origin.pk, actor=reader).exists()


def test_another_radiologist_gets_a_404_for_a_sites_scan(client, flagged):
    client.force_login(RadiologistFactory())
    assert client.get(flagged.get_absolute_url()).status_code == 404


def test_the_reader_downloads_the_reading_as_sr_and_fhir_from_the_scan_page(client, reader, flagged):
    client.force_login(reader)
    page = client.get(flagged.get_absolute_url()).content.decode()
    for name, content_type in (("structured-report", "application/dicom"), ("fhir-report", "application/fhir+json")):
        url = reverse(f"hospitals:{name}", args=[flagged.pk])
        assert url in page
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == content_type
        assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("name", ["structured-report", "fhir-report"])
def test_another_radiologist_cannot_download_a_sites_reading(client, flagged, name):
    client.force_login(RadiologistFactory())
    assert client.get(reverse(f"hospitals:{name}", args=[flagged.pk])).status_code == 404
