"""The admin side of the review loop: roles, scan filters and actions, read-only reviews."""

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from reviews import services
from reviews.models import Review, ReviewCase
from scans.models import Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    private_media,
)

SCANS = reverse("admin:scans_scan_changelist")
CASES = reverse("admin:reviews_reviewcase_changelist")
USERS = reverse("admin:accounts_user_changelist")


def run_action(admin_client, url, action, objects, **extra):
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [obj.pk for obj in objects], **extra}
    return admin_client.post(url, data)


class TestUsers:
    def test_make_radiologist(self, admin_client):
        patient = UserFactory()

        run_action(admin_client, USERS, "make_radiologist", [patient])

        patient.refresh_from_db()
        assert patient.role == User.Role.RADIOLOGIST
        assert AuditEvent.objects.get(action="changed").object_id == patient.pk

    def test_deactivate_keeps_the_account_and_spares_the_admin_themselves(self, admin_client, admin_user):
        radiologist = RadiologistFactory()

        run_action(admin_client, USERS, "deactivate", [radiologist, admin_user])

        radiologist.refresh_from_db()
        admin_user.refresh_from_db()
        assert radiologist.is_active is False
        assert admin_user.is_active is True

    def test_a_deactivated_radiologist_is_logged_out(self, admin_client, client):
        radiologist = RadiologistFactory()
        client.force_login(radiologist)

        run_action(admin_client, USERS, "deactivate", [radiologist])

        assert client.get(reverse("reviews:worklist")).status_code == 302


class TestScanList:
    def test_it_filters_by_the_computer_reading(self, admin_client):
        suspected = PredictionFactory(scan__original_filename="suspected.jpeg").scan
        PredictionFactory(normal=True, scan__original_filename="cleared.jpeg")
        PredictionFactory(uncertain=True, scan__original_filename="uncertain.jpeg")

        page = admin_client.get(SCANS, {"reading": "pneumonia"}).content.decode()

        assert suspected.original_filename in page
        assert "cleared.jpeg" not in page
        assert "uncertain.jpeg" not in page
        assert "uncertain.jpeg" in admin_client.get(SCANS, {"reading": "indeterminate"}).content.decode()

    def test_it_filters_by_review_state(self, admin_client):
        ReviewFactory(prediction__scan__original_filename="reviewed.jpeg")
        PredictionFactory(scan__original_filename="waiting.jpeg")
        PredictionFactory(normal=True, scan__original_filename="cleared.jpeg")

        reviewed = admin_client.get(SCANS, {"reviewed": "yes"}).content.decode()
        waiting = admin_client.get(SCANS, {"reviewed": "waiting"}).content.decode()

        assert "reviewed.jpeg" in reviewed and "waiting.jpeg" not in reviewed
        assert "waiting.jpeg" in waiting and "reviewed.jpeg" not in waiting and "cleared.jpeg" not in waiting

    def test_it_filters_by_model_version_and_searches_by_patient(self, admin_client):
        PredictionFactory(model_version="v-old", scan__original_filename="old.jpeg")
        new = PredictionFactory(model_version="v-new", scan__original_filename="new.jpeg").scan

        by_version = admin_client.get(SCANS, {"predictions__model_version": "v-new"}).content.decode()
        by_email = admin_client.get(SCANS, {"q": new.owner.email}).content.decode()

        assert "new.jpeg" in by_version and "old.jpeg" not in by_version
        assert "new.jpeg" in by_email and "old.jpeg" not in by_email

    def test_the_list_needs_no_query_per_row(self, admin_client, django_assert_max_num_queries):
        PredictionFactory.create_batch(3)
        admin_client.get(SCANS)
        few = _count_queries(admin_client, SCANS)
        PredictionFactory.create_batch(12)

        assert _count_queries(admin_client, SCANS) == few


def _count_queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries)


class TestScanActions:
    def test_rerun_inference_queues_finished_scans_only_and_starts_their_attempts_afresh(self, admin_client):
        finished = PredictionFactory().scan
        Scan.objects.filter(pk=finished.pk).update(attempts=3)
        processing = ScanFactory(status=Scan.Status.PROCESSING)

        run_action(admin_client, SCANS, "rerun_inference", [finished, processing])

        finished.refresh_from_db()
        processing.refresh_from_db()
        assert finished.status == Scan.Status.QUEUED and finished.attempts == 0
        assert processing.status == Scan.Status.PROCESSING
        assert AuditEvent.objects.get(action="changed").scan_id == finished.pk


class TestReviewCaseActions:
    def test_the_case_list_shows_why_each_case_waits_and_who_holds_it(self, admin_client):
        case = PredictionFactory(uncertain=True).scan.review_case
        radiologist = RadiologistFactory()
        services.claim(case.scan_id, radiologist)

        page = admin_client.get(CASES).content.decode()

        assert "Uncertain reading" in page and radiologist.email in page

    def test_assign_asks_which_radiologist_first(self, admin_client):
        case = PredictionFactory().scan.review_case
        radiologist = RadiologistFactory()

        page = run_action(admin_client, CASES, "assign_to_radiologist", [case]).content.decode()

        assert radiologist.email in page
        case.refresh_from_db()
        assert case.claimed_by is None

    def test_assign_gives_waiting_cases_to_the_chosen_radiologist_and_leaves_reviewed_ones(self, admin_client):
        case = PredictionFactory().scan.review_case
        reviewed = ReviewFactory().scan.review_case
        radiologist = RadiologistFactory()
        services.claim(case.scan_id, RadiologistFactory())

        run_action(
            admin_client, CASES, "assign_to_radiologist", [case, reviewed], radiologist=radiologist.pk, apply="Assign"
        )

        case.refresh_from_db()
        reviewed.refresh_from_db()
        assert case.claimed_by == radiologist
        assert reviewed.claimed_by is None
        assert AuditEvent.objects.filter(action="claimed", scan_id=case.scan_id).exists()

    def test_release_frees_a_stuck_claim(self, admin_client):
        case = PredictionFactory().scan.review_case
        services.claim(case.scan_id, RadiologistFactory())

        run_action(admin_client, CASES, "release_claim", [case])

        case.refresh_from_db()
        assert case.claimed_by is None
        assert AuditEvent.objects.get(action="released").scan_id == case.scan_id

    def test_cases_cannot_be_added_or_deleted_by_hand(self, admin_client):
        case = PredictionFactory().scan.review_case

        add = admin_client.get(reverse("admin:reviews_reviewcase_add"))
        delete = admin_client.post(reverse("admin:reviews_reviewcase_delete", args=[case.pk]), {"post": "yes"})

        assert (add.status_code, delete.status_code) == (403, 403)
        assert ReviewCase.objects.filter(pk=case.pk).exists()


class TestReadOnlyReviews:
    def test_reviews_are_listed_with_the_derived_agreement(self, admin_client):
        review = ReviewFactory(finding="no_pneumonia")

        page = admin_client.get(reverse("admin:reviews_review_changelist")).content.decode()

        assert review.radiologist.email in page
        assert 'alt="False"' in page  # the model said pneumonia

    def test_reviews_cannot_be_added_changed_or_deleted(self, admin_client):
        review = ReviewFactory()

        add = admin_client.get(reverse("admin:reviews_review_add"))
        change = admin_client.post(
            reverse("admin:reviews_review_change", args=[review.pk]), {"finding": "no_pneumonia"}
        )
        delete = admin_client.post(reverse("admin:reviews_review_delete", args=[review.pk]), {"post": "yes"})

        assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
        review.refresh_from_db()
        assert review.finding == Review.Finding.PNEUMONIA

    @pytest.mark.parametrize("url_name", ["admin:scans_prediction_add", "admin:reviews_review_add"])
    def test_readings_and_reviews_have_no_add_page(self, admin_client, url_name):
        assert admin_client.get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:scans_scan_changelist",
        "admin:audit_auditevent_changelist",
        "admin:reviews_review_changelist",
        "admin:reviews_reviewcase_changelist",
    ],
)
def test_a_search_for_words_where_ids_are_searched_too_still_works(admin_client, url_name):
    PredictionFactory()

    assert admin_client.get(reverse(url_name), {"q": "someone@example"}).status_code == 200
