"""Hostile and malformed DICOMweb reads: each is a 400, 404 or 406 saying what was wrong, as a problem
(application/problem+json), and nothing is served."""

import pytest
from django.core.management import call_command
from rest_framework.throttling import SimpleRateThrottle

from scans.dicom_instances import index_scan
from scans.models import DicomInstance
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import ScanFactory, private_media  # noqa: F401


@pytest.fixture
def scan(db):
    scan = ScanFactory()
    index_scan(scan)
    return scan


def sop_address(scan) -> str:
    instance = scan.dicom_instance
    return (
        f"/dicomweb/studies/{instance.study_instance_uid}/series/{instance.series_instance_uid}"
        f"/instances/{instance.sop_instance_uid}"
    )


def get(scan, path: str, **headers):
    return token_client(scan.owner).get(path, **headers)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("StudyDate=2025-01-01", "is not YYYYMMDD"),
        ("StudyDate=20250230", "does not exist"),
        ("StudyDate=20250301-20250101", "ends before it starts"),
        ("StudyDate=-", "is not YYYYMMDD"),
        ("offset=-1", "offset must be a whole number from 0"),
        ("limit=0", "limit must be a whole number from 1"),
        ("limit=lots", "limit must be a whole number"),
        ("StudyInstanceUID=1.2.abc", "is not a UID"),
        ("PatientID=" + "x" * 65, "at most 64 characters"),
        ("AccessionNumber=" + "x" * 17, "at most 16 characters"),
    ],
)
def test_a_search_with_a_bad_value_answers_400_saying_why(scan, query, said):
    response = get(scan, f"/dicomweb/studies?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert said in response.json()["detail"]


def test_a_huge_limit_is_cut_to_the_largest_page(scan):
    ScanFactory.create_batch(2, owner=scan.owner)
    call_command("make_secondary_captures")

    response = get(scan, "/dicomweb/studies?limit=999999999&offset=1")

    assert response.status_code == 200 and len(response.json()) == 2


def test_a_date_range_matches_the_days_the_studies_were_received(scan):
    day = scan.created_at.strftime("%Y%m%d")

    assert len(get(scan, f"/dicomweb/studies?StudyDate={day}").json()) == 1
    assert len(get(scan, f"/dicomweb/studies?StudyDate={day}-").json()) == 1
    assert get(scan, "/dicomweb/studies?StudyDate=19990101-19991231").json() == []


@pytest.mark.parametrize("bad_uid", ["1.2.abc", "1..2", "01.2", "1." + "2" * 70, "%2e%2e"])
def test_a_malformed_uid_in_the_address_answers_400(scan, bad_uid):
    response = get(scan, f"/dicomweb/studies/{bad_uid}/metadata")

    assert response.status_code == 400
    assert "is not a UID" in response.json()["detail"]


@pytest.mark.parametrize(("frames", "status", "said"), [("0", 400, "no frame 0"), ("2", 404, "has 1 frame"),
                                                         ("1,x", 400, "numbers from 1")])  # fmt: skip
def test_a_frame_that_is_not_there_is_refused_saying_why(scan, frames, status, said):
    response = get(scan, f"{sop_address(scan)}/frames/{frames}")

    assert response.status_code == status
    assert said in response.json()["detail"]


@pytest.mark.parametrize(
    ("suffix", "accept"),
    [
        ("", "text/html"),
        ("", 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'),
        ("/frames/1", 'multipart/related; type="image/jpeg"'),
        ("/frames/1", 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.4.50'),
        ("/metadata", "image/png"),
        ("/rendered", "image/gif"),
    ],
)
def test_a_media_type_the_portal_does_not_send_answers_406(scan, suffix, accept):
    response = get(scan, sop_address(scan) + suffix, HTTP_ACCEPT=accept)

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("window", ["100", "a,b,linear", "100,0,linear", "100,200,sigmoid"])
def test_a_window_that_cannot_be_drawn_answers_400(scan, window):
    response = get(scan, f"{sop_address(scan)}/rendered?window={window}")

    assert response.status_code == 400


def test_the_command_makes_each_missing_copy_once(db):
    scans = ScanFactory.create_batch(2)

    call_command("make_secondary_captures")
    call_command("make_secondary_captures")

    assert DicomInstance.objects.filter(scan__in=scans).count() == 2
    assert all(instance.capture for instance in DicomInstance.objects.all())


def test_a_flood_of_reads_is_throttled_with_a_problem_and_leaves_the_api_rate_alone(scan, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "dicomweb", "2/minute")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/minute")
    viewer = token_client(scan.owner)

    statuses = [viewer.get(f"{sop_address(scan)}/metadata").status_code for _ in range(3)]
    refused = viewer.get("/dicomweb/studies")

    assert statuses == [200, 200, 429]
    assert refused["Content-Type"] == "application/problem+json" and "Retry-After" in refused
    assert viewer.get("/api/v1/scans/").status_code == 200  # counted apart: the API's two are still there
