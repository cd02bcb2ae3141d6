"""What the diagnostic viewer is given (actions.viewer): the scan's WADO-RS address and the same child's
earlier X-rays the user may see, the latest few, older first, each with its own address."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions.viewer import PRIORS_SHOWN, dicom_viewer
from scans.dicom_instances import index_scan
from tests.factories import PatientFactory, ScanFactory, UserFactory, private_media  # noqa: F401

pytestmark = pytest.mark.usefixtures("private_media")


def films_of(patient, count):
    now = timezone.now()
    scans = [
        ScanFactory(owner=patient.owner, patient=patient, created_at=now - timedelta(days=count - n))
        for n in range(count)
    ]
    for scan in scans:
        index_scan(scan)
    return scans


def test_the_viewer_gets_the_earlier_films_of_the_same_child_older_first(db):
    child = PatientFactory()
    *earlier, latest = films_of(child, 3)
    ScanFactory(owner=child.owner, patient=PatientFactory(owner=child.owner))  # a sibling's film: not a prior

    shown = dicom_viewer(child.owner, latest)

    assert shown["instance_url"].endswith(latest.dicom_instance.sop_instance_uid)
    assert [prior["pk"] for prior in shown["priors"]] == [scan.pk for scan in earlier]
    assert [prior["instance_url"].rsplit("/", 1)[1] for prior in shown["priors"]] == [
        scan.dicom_instance.sop_instance_uid for scan in earlier
    ]


def test_only_the_latest_few_priors_are_set_beside_it_and_in_a_fixed_number_of_queries(db):
    child = PatientFactory()
    *earlier, latest = films_of(child, PRIORS_SHOWN + 3)

    with CaptureQueriesContext(connection) as few:
        shown = dicom_viewer(child.owner, latest)

    assert [prior["pk"] for prior in shown["priors"]] == [scan.pk for scan in earlier[-PRIORS_SHOWN:]]
    assert len(few) <= 3  # the scan's copy, then the priors with theirs: not one query per prior


def test_another_accounts_films_are_never_set_beside_it(db):
    child = PatientFactory()
    *_, latest = films_of(child, 2)

    assert dicom_viewer(UserFactory(), latest)["priors"] == []


def test_a_scan_without_a_dicom_copy_gets_no_viewer(db):
    scan = ScanFactory()

    assert dicom_viewer(scan.owner, scan) is None
