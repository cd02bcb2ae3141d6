"""The DICOMweb read routes for every role, in the world of the web's access matrix (tests/test_access_matrix.py)
with two sites added, each with a reader (a radiologist, so the flagged case reaches them too) and one
study. A study the user may not see answers 404 and is not
listed by QIDO; without a login or token the answer is 401. Sessions here; tokens in test_dicomweb_read.py."""

import pytest

from audit.models import AuditEvent
from hospitals.intake import site_patient_key
from scans.dicom_instances import index_scan
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import RadiologistFactory, ScanFactory, SiteFactory, private_media  # noqa: F401
from tests.test_access_matrix import ROLES, build_world

SITE_ROLES = ("site_reader", "other_site_reader")
# Routes under /dicomweb/studies/<study>; "search" is QIDO's /dicomweb/studies?StudyInstanceUID=<study>.
ROUTES = ("retrieve", "metadata", "series", "study-instances", "instances", "instance", "instance-metadata", "frames", "rendered")
# The scan, then the status for each role in ROLES' order and SITE_ROLES' (the API matrix's for the scan).
MATRIX = """
flagged    401 200 404 200 200 404 200 200 200
reviewed   401 200 404 200 404 404 200 404 404
site       401 404 404 404 404 404 200 200 404
"""


@pytest.fixture
def world(db):
    world = build_world()
    sites = [SiteFactory(), SiteFactory()]
    for site, role in zip(sites, SITE_ROLES, strict=True):
        reader = RadiologistFactory()
        site.readers.add(reader)
        world["users"][role] = reader
    world["scans"]["site"] = ScanFactory(owner=None, patient=None, site=sites[0])
    for name in ("flagged", "reviewed"):
        index_scan(world["scans"][name])
    index_scan(world["scans"]["site"], patient_key=site_patient_key(sites[0].pk, "MRN-1"))
    return world


def address(scan, route: str) -> str:
    instance = scan.dicom_instance
    study = f"/dicomweb/studies/{instance.study_instance_uid}"
    series = f"{study}/series/{instance.series_instance_uid}"
    sop = f"{series}/instances/{instance.sop_instance_uid}"
    return {
        "retrieve": study,
        "metadata": f"{study}/metadata",
        "series": f"{study}/series",
        "study-instances": f"{study}/instances",
        "instances": f"{series}/instances",
        "instance": sop,
        "instance-metadata": f"{sop}/metadata",
        "frames": f"{sop}/frames/1",
        "rendered": f"{sop}/rendered",
    }[route]


def _cells():
    for line in MATRIX.strip().splitlines():
        scan, *statuses = line.split()
        for role, status in zip(ROLES + SITE_ROLES, statuses, strict=True):
            for route in ROUTES:
                yield pytest.param(scan, route, role, int(status), id=f"{route} {scan} {role}")


@pytest.mark.parametrize(("scan", "route", "role", "expected"), list(_cells()))
def test_each_role_gets_the_expected_status(client, world, scan, route, role, expected):
    if world["users"][role] is not None:
        client.force_login(world["users"][role])

    response = client.get(address(world["scans"][scan], route), HTTP_ACCEPT="*/*")

    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES[1:] + SITE_ROLES)
def test_qido_lists_exactly_the_studies_the_role_may_open(client, world, role):
    client.force_login(world["users"][role])
    expected = {
        world["scans"][name].dicom_instance.study_instance_uid
        for name, line in zip(("flagged", "reviewed", "site"), MATRIX.strip().splitlines(), strict=True)
        if line.split()[1 + (ROLES + SITE_ROLES).index(role)] == "200"
    }

    listed = client.get("/dicomweb/studies").json()

    assert {study["0020000D"]["Value"][0] for study in listed} == expected


@pytest.mark.parametrize("level", ["series", "instances"])
@pytest.mark.parametrize("role", ROLES[1:] + SITE_ROLES)
def test_a_search_from_the_top_lists_the_series_and_instances_of_exactly_those_studies(client, world, role, level):
    """/dicomweb/series and /dicomweb/instances search every study the role may see, and no other."""
    client.force_login(world["users"][role])
    opened = {
        world["scans"][name].dicom_instance.study_instance_uid
        for name, line in zip(("flagged", "reviewed", "site"), MATRIX.strip().splitlines(), strict=True)
        if line.split()[1 + (ROLES + SITE_ROLES).index(role)] == "200"
    }

    listed = client.get(f"/dicomweb/{level}").json()

    assert {found["0020000D"]["Value"][0] for found in listed} == opened
    assert len(listed) == len(opened)  # one series (and one instance) per study here


@pytest.mark.parametrize("level", ["studies", "series", "instances"])
def test_an_anonymous_search_answers_401_and_lists_nothing(client, world, level):
    response = client.get(f"/dicomweb/{level}")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_another_accounts_study_is_refused_and_the_refusal_recorded(world):
    scan = world["scans"]["flagged"]
    patient_b = world["users"]["patient_b"]

    response = token_client(patient_b).get(address(scan, "instance-metadata"))

    assert response.status_code == 404
    refusal = AuditEvent.objects.get(actor=patient_b, action=AuditEvent.Action.REFUSED)
    assert scan.dicom_instance.sop_instance_uid in refusal.detail
