"""Every endpoint of the REST API for every role, in the world of the web's access matrix.

As on the web, what a user may not see is a 404; without a valid token the answer is 401.
"""

import pytest
from django.urls import get_resolver, reverse

from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import private_media  # noqa: F401
from tests.test_access_matrix import ROLES, build_world

# method, URL name, the scan it is about (or none), then the status for each role in ROLES' order:
# anonymous, patient_a, patient_b, radiologist, other_radiologist, staff_without_permissions, admin.
MATRIX = """
GET     api:schema        -         200 200 200 200 200 200 200
GET     api:docs          -         200 200 200 200 200 200 200
POST    api:token         -         400 400 400 400 400 400 400
GET     api:patients      -         401 200 200 200 200 200 200
POST    api:patients      -         401 400 400 400 400 400 400
GET     api:scans         -         401 200 200 200 200 200 200
POST    api:scans         -         401 400 400 400 400 400 400
GET     api:scan          cleared   401 200 404 404 404 404 200
GET     api:scan-image    cleared   401 200 404 404 404 404 200
GET     api:scan-heatmap  cleared   401 200 404 404 404 404 200
GET     api:scan-dicom    cleared   401 200 404 404 404 404 200
GET     api:scan-report   cleared   401 200 404 404 404 404 200
GET     api:scan          flagged   401 200 404 200 200 404 200
GET     api:scan-image    flagged   401 200 404 200 200 404 200
GET     api:scan-heatmap  flagged   401 200 404 200 200 404 200
GET     api:scan-report   flagged   401 200 404 200 200 404 200
GET     api:scan          reviewed  401 200 404 200 404 404 200
GET     api:scan-image    reviewed  401 200 404 200 404 404 200
GET     api:scan-heatmap  reviewed  401 200 404 200 404 404 200
GET     api:scan-report   reviewed  401 200 404 200 404 404 200
GET     api:scan-dicom-sr     cleared   401 200 404 404 404 404 200
GET     api:scan-dicom-heatmap cleared   401 200 404 404 404 404 200
GET     api:scan-fhir         cleared   401 200 404 404 404 404 200
GET     api:scan-dicom-sr     flagged   401 200 404 200 200 404 200
GET     api:scan-dicom-heatmap flagged   401 200 404 200 200 404 200
GET     api:scan-fhir         flagged   401 200 404 200 200 404 200
GET     api:scan-dicom-sr     reviewed  401 200 404 200 404 404 200
GET     api:scan-dicom-heatmap reviewed  401 200 404 200 404 404 200
GET     api:scan-fhir         reviewed  401 200 404 200 404 404 200
DELETE  api:scan          cleared   401 204 404 404 404 404 404
DELETE  api:scan          flagged   401 204 404 404 404 404 404
GET     api:worklist      -         401 404 404 200 200 404 404
POST    api:review        cleared   401 404 404 404 404 404 404
POST    api:review        flagged   401 404 404 201 201 404 404
POST    api:review        reviewed  401 404 404 409 404 404 404
"""


@pytest.fixture
def world(db):
    return build_world()


BODIES = {"api:review": {"finding": "pneumonia"}}
FORMATS = {"api:scans": "multipart"}  # uploads are multipart only; JSON would be a 415 before any access check


def _cells():
    for line in MATRIX.strip().splitlines():
        method, url_name, scan, *statuses = line.split()
        assert len(statuses) == len(ROLES), line
        for role, status in zip(ROLES, statuses, strict=True):
            yield pytest.param(method, url_name, scan, role, int(status), id=f"{method} {url_name} {scan} {role}")


@pytest.mark.parametrize(("method", "url_name", "scan", "role", "expected"), list(_cells()))
def test_each_role_gets_the_expected_status(world, method, url_name, scan, role, expected):
    api = token_client(world["users"][role])
    args = [world["scans"][scan].pk] if scan != "-" else []

    send = getattr(api, method.lower())

    response = send(reverse(url_name, args=args), BODIES.get(url_name, {}), format=FORMATS.get(url_name, "json"))

    assert response.status_code == expected


def test_the_matrix_covers_every_endpoint_of_the_api():
    names = {line.split()[1] for line in MATRIX.strip().splitlines()}
    resolver = get_resolver().namespace_dict["api"][1]

    assert {f"api:{name}" for name in resolver.reverse_dict if isinstance(name, str)} - names == set()


@pytest.mark.parametrize(
    "role", ["patient_b", "radiologist", "other_radiologist", "staff_without_permissions", "admin"]
)
def test_no_role_lists_another_patients_xrays(world, role):
    response = token_client(world["users"][role]).get(reverse("api:scans"))

    assert response.json()["results"] == []
    for scan in world["scans"].values():
        assert scan.original_filename not in response.content.decode()


@pytest.mark.parametrize("role", ["radiologist", "other_radiologist"])
def test_the_worklist_lists_only_the_case_waiting_for_review(world, role):
    body = token_client(world["users"][role]).get(reverse("api:worklist")).json()

    assert [case["id"] for case in body["results"]] == [world["scans"]["flagged"].pk]
