"""Every URL of the portal for every role, with the status each must get.

What a user may not see is a 404 (it must not even be known to exist); a page that needs a login sends
anonymous visitors to log in; staff pages send non-staff to the admin's login and answer staff
without the permission with the admin's 403. The world: patient A owns three X-rays, one the model
cleared ("cleared", uploaded as DICOM), one it flagged and nobody has reviewed yet ("flagged"), one `radiologist`
reviewed ("reviewed"). Patient B owns nothing of it.
"""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, User
from exports.models import DataExport
from reviews.worklist import worklist
from tests.factories import (
    PredictionFactory,
    RadiologistFactory,
    ReadingHeadFactory,
    ReviewFactory,
    StaffFactory,  # noqa: F401
    UserFactory,
)

ROLES = (
    "anonymous",
    "patient_a",
    "patient_b",
    "radiologist",
    "other_radiologist",
    "staff_without_permissions",
    "admin",
)

# method, URL name, the scan (or patient A's API token) it is about, or none, then the status for each
# role in ROLES' order.
MATRIX = """
GET   home                               -         200 302 302 302 302 302 302
GET   about_model                        -         200 200 200 200 200 200 200
GET   scans:history                      -         302 200 200 200 200 200 200
GET   scans:upload                       -         302 200 200 200 200 200 200
GET   accounts:preferences               -         302 200 200 200 200 200 200
POST  accounts:set_language              -         302 302 302 302 302 302 302
GET   accounts:api_tokens                -         302 200 200 200 200 200 200
POST  accounts:revoke_api_token          token_a   302 302 404 404 404 404 404
GET   exports:page                       -         302 200 200 200 200 200 200
POST  exports:page                       -         302 302 302 302 302 302 302
GET   exports:download                   export_a  302 200 404 404 404 404 404
GET   accounts:delete_account            -         302 200 200 200 200 200 200
POST  accounts:delete_account            -         302 200 200 200 200 200 200
GET   scans:detail                       cleared   302 200 404 404 404 404 200
GET   scans:status                       cleared   302 200 404 404 404 404 200
GET   scans:row                          cleared   302 200 404 404 404 404 404
GET   scans:row                          flagged   302 200 404 404 404 404 404
GET   patients:list                      -         302 200 200 200 200 200 200
POST  patients:list                      -         302 200 200 200 200 200 200
GET   patients:edit                      child_a   302 200 404 404 404 404 404
POST  patients:edit                      child_a   302 200 404 404 404 404 404
GET   scans:image                        cleared   302 200 404 404 404 404 200
GET   scans:heatmap                      cleared   302 200 404 404 404 404 200
GET   scans:dicom                        cleared   302 200 404 404 404 404 200
GET   scans:report                       cleared   302 200 404 404 404 404 200
GET   scans:report                       flagged   302 200 404 200 200 404 200
GET   scans:report                       reviewed  302 200 404 200 404 404 200
GET   hospitals:studies                  -         302 404 404 404 404 404 200
GET   hospitals:structured-report        cleared   302 200 404 404 404 404 200
GET   hospitals:fhir-report              cleared   302 200 404 404 404 404 200
GET   hospitals:structured-report        flagged   302 200 404 200 200 404 200
GET   hospitals:fhir-report              flagged   302 200 404 200 200 404 200
GET   hospitals:structured-report        reviewed  302 200 404 200 404 404 200
GET   hospitals:fhir-report              reviewed  302 200 404 200 404 404 200
GET   scans:compare                      cleared   302 200 404 404 404 404 200
GET   scans:detail                       flagged   302 200 404 200 200 404 200
GET   scans:status                       flagged   302 200 404 200 200 404 200
GET   scans:image                        flagged   302 200 404 200 200 404 200
GET   scans:heatmap                      flagged   302 200 404 200 200 404 200
GET   scans:compare                      flagged   302 200 404 200 200 404 200
GET   scans:detail                       reviewed  302 200 404 200 404 404 200
GET   scans:status                       reviewed  302 200 404 200 404 404 200
GET   scans:image                        reviewed  302 200 404 200 404 404 200
GET   scans:heatmap                      reviewed  302 200 404 200 404 404 200
GET   scans:compare                      reviewed  302 200 404 200 404 404 200
GET   scans:delete                       cleared   302 200 404 404 404 404 404
POST  scans:delete                       flagged   302 302 404 404 404 404 404
POST  reviews:request                    cleared   302 302 404 404 404 404 404
GET   reviews:worklist                   -         302 404 404 200 200 404 404
GET   reviews:case                       cleared   302 404 404 404 404 404 404
GET   reviews:case                       flagged   302 404 404 200 200 404 404
GET   reviews:case                       reviewed  302 404 404 200 404 404 404
POST  reviews:case                       flagged   302 404 404 200 200 404 404
POST  reviews:claim                      cleared   302 404 404 404 404 404 404
POST  reviews:claim                      flagged   302 404 404 302 302 404 404
POST  reviews:release                    flagged   302 404 404 302 302 404 404
GET   staff:monitoring                   -         302 302 302 302 302 403 200
GET   adaptation:page                    -         302 302 302 302 302 403 200
GET   adaptation:imports                 -         302 302 302 302 302 403 200
GET   adaptation:runs                    -         302 302 302 302 302 403 200
POST  adaptation:upload                  -         302 302 302 302 302 403 302
POST  adaptation:adapt                   -         302 302 302 302 302 403 302
GET   adaptation:head                    head      302 302 302 302 302 403 200
POST  adaptation:activate                head      302 302 302 302 302 403 302
POST  adaptation:roll_back               -         302 302 302 302 302 403 302
GET   admin:index                        -         302 302 302 302 302 200 200
GET   admin:accounts_user_changelist     -         302 302 302 302 302 403 200
GET   admin:scans_scan_changelist        -         302 302 302 302 302 403 200
GET   admin:scans_scan_change            cleared   302 302 302 302 302 403 200
GET   admin:scans_prediction_changelist  -         302 302 302 302 302 403 200
GET   admin:reviews_review_changelist    -         302 302 302 302 302 403 200
GET   admin:audit_auditevent_changelist  -         302 302 302 302 302 403 200
"""


def _cells():
    for line in MATRIX.strip().splitlines():
        method, url_name, scan, *statuses = line.split()
        assert len(statuses) == len(ROLES), line
        for role, status in zip(ROLES, statuses, strict=True):
            yield pytest.param(method, url_name, scan, role, int(status), id=f"{method} {url_name} {scan} {role}")


CELLS = list(_cells())


@pytest.fixture
def world(db):
    return build_world()


def build_world() -> dict:
    """The users, the scans and the token of the module docstring (the API's matrix uses it too)."""
    patient_a, patient_b = UserFactory.create_batch(2)
    radiologist = RadiologistFactory()
    cleared = PredictionFactory(normal=True, scan__owner=patient_a, scan__dicom=True).scan
    flagged = PredictionFactory(scan__owner=patient_a, scan__created_at=cleared.created_at + timedelta(days=1)).scan
    reviewed = ReviewFactory(radiologist=radiologist, prediction__scan__owner=patient_a).scan
    users = {
        "anonymous": None,
        "patient_a": patient_a,
        "patient_b": patient_b,
        "radiologist": radiologist,
        "other_radiologist": RadiologistFactory(),
        "staff_without_permissions": StaffFactory(),
        "admin": StaffFactory(is_superuser=True, role=User.Role.ADMIN),
    }
    token_a, _ = ApiToken.issue(patient_a, "patient A's script")
    export_a = DataExport.objects.create(
        owner=patient_a, status=DataExport.Status.READY, ready_at=timezone.now(), size_bytes=4,
        file=ContentFile(b"PK\x05\x06", name="export.zip"),
    )  # fmt: skip
    return {
        "users": users,
        "scans": {"cleared": cleared, "flagged": flagged, "reviewed": reviewed},
        "tokens": {"token_a": token_a, "export_a": export_a, "child_a": cleared.patient, "head": ReadingHeadFactory()},
    }


# Choosing a language needs no account: everyone is sent back to the page they were on, not to log in.
OPEN_TO_EVERYONE = {"accounts:set_language"}


@pytest.mark.parametrize(("method", "url_name", "scan", "role", "expected"), CELLS)
def test_each_role_gets_the_expected_status(client, world, method, url_name, scan, role, expected):
    if world["users"][role] is not None:
        client.force_login(world["users"][role])
    target = world["tokens"].get(scan) or world["scans"].get(scan)
    args = [target.pk] if target else []

    response = client.generic(method, reverse(url_name, args=args))

    assert response.status_code == expected
    if role == "anonymous" and expected == 302:
        assert ("login" in response["Location"]) is (url_name not in OPEN_TO_EVERYONE)


def test_the_matrix_covers_every_named_url_of_the_portal():
    from django.urls import get_resolver

    names = {line.split()[1] for line in MATRIX.strip().splitlines()}
    portal_names = set()
    for namespace in ("scans", "reviews", "staff", "accounts", "patients", "hospitals", "adaptation"):
        resolver = get_resolver().namespace_dict[namespace][1]
        portal_names |= {f"{namespace}:{name}" for name in resolver.reverse_dict if isinstance(name, str)}

    assert portal_names - names == set()


# --- List pages: no rows the user may not see -------------------------------------------------------


def test_a_patients_history_lists_none_of_another_patients_xrays(client, world):
    client.force_login(world["users"]["patient_b"])

    page = client.get(reverse("scans:history")).content.decode()

    for scan in world["scans"].values():
        assert scan.original_filename not in page
        assert scan.get_absolute_url() not in page


def test_a_radiologists_history_lists_only_their_own_xrays(client, world):
    client.force_login(world["users"]["radiologist"])

    page = client.get(reverse("scans:history")).content.decode()

    for scan in world["scans"].values():
        assert scan.original_filename not in page


@pytest.mark.parametrize("role", ["radiologist", "other_radiologist"])
def test_the_worklist_lists_only_cases_waiting_for_review(client, world, role):
    client.force_login(world["users"][role])

    page = client.get(reverse("reviews:worklist")).content.decode()

    assert reverse("reviews:case", args=[world["scans"]["flagged"].pk]) in page
    assert reverse("reviews:case", args=[world["scans"]["cleared"].pk]) not in page
    assert reverse("reviews:case", args=[world["scans"]["reviewed"].pk]) not in page
    assert [case.scan_id for case in worklist(world["users"][role]).cases] == [world["scans"]["flagged"].pk]


def test_compare_never_pairs_an_xray_the_user_may_not_see(client, world):
    client.force_login(world["users"]["other_radiologist"])

    page = client.get(reverse("scans:compare", args=[world["scans"]["flagged"].pk])).content.decode()

    assert reverse("scans:image", args=[world["scans"]["cleared"].pk]) not in page
    assert "no earlier X-ray" in page


def test_staff_with_the_scans_permission_see_every_scan(client, world):
    from django.contrib.auth.models import Permission

    staff = world["users"]["staff_without_permissions"]
    staff.user_permissions.add(Permission.objects.get(codename="view_scan"))
    client.force_login(staff)

    assert client.get(reverse("scans:detail", args=[world["scans"]["cleared"].pk])).status_code == 200
    assert client.get(reverse("admin:scans_scan_changelist")).status_code == 200
