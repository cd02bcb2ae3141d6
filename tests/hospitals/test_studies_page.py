"""The site studies page: a reader finds any study of their sites, flagged or not, by accession number;
other users get a 404; each row's identifiers are in the audit log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.factories import RadiologistFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db
STUDIES = reverse("hospitals:studies")


@pytest.fixture
def reader():
    return RadiologistFactory()


@pytest.fixture
def studies(reader):
    flagged = site_reading()
    cleared = site_reading(site=flagged.scan.site, normal=True)  # the model cleared it: not on the worklist
    flagged.scan.site.readers.add(reader)
    elsewhere = site_reading()  # another site's
    return flagged.scan, cleared.scan, elsewhere.scan


def test_a_reader_sees_every_study_of_their_sites_flagged_or_not(client, reader, studies):
    flagged, cleared, elsewhere = studies
    client.force_login(reader)
    page = client.get(STUDIES).content.decode()
    for scan in (flagged, cleared):
        assert scan.dicom_origin.accession_number in page and scan.get_absolute_url() in page
    assert elsewhere.dicom_origin.accession_number not in page
    assert STUDIES in client.get(reverse("reviews:worklist")).content.decode()  # in the menu


def test_a_reader_finds_a_study_by_its_accession_number_and_the_showing_is_audited(client, reader, studies):
    flagged, cleared, _ = studies
    client.force_login(reader)
    page = client.get(STUDIES, {"accession_number": cleared.dicom_origin.accession_number}).content.decode()
    assert cleared.get_absolute_url() in page and flagged.get_absolute_url() not in page
    shown = AuditEvent.objects.filter(actor=reader, object_type="dicomorigin")
    assert list(shown.values_list("object_id", flat=True)) == [cleared.dicom_origin.pk]


def test_an_unknown_accession_number_says_so(client, reader, studies):
    client.force_login(reader)
    assert "No study with accession number NOPE" in client.get(STUDIES, {"accession_number": "NOPE"}).content.decode()


@pytest.mark.parametrize("make_user", [RadiologistFactory, UserFactory], ids=["radiologist", "patient"])
def test_someone_who_reads_for_no_site_gets_a_404(client, studies, make_user):
    client.force_login(make_user())
    assert client.get(STUDIES).status_code == 404


@pytest.mark.parametrize(
    ("dicom_name", "shown"),
    [("Doe^Jane", "Doe, Jane"), ("Doe^Jane^Ann^^", "Doe, Jane Ann"), ("ANONYMOUS", "ANONYMOUS"), ("", "")],
)
def test_a_dicom_person_name_is_shown_as_a_reader_writes_it(dicom_name, shown):
    from hospitals.models import DicomOrigin

    assert DicomOrigin(patient_name=dicom_name).patient_display_name == shown
