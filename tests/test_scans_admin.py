"""The admin lists and searches scans; readings are read-only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.models import ReviewCase
from reviews.worklist import worklist
from scans.dicom_instances import index_scan
from tests.factories import PredictionFactory, RadiologistFactory, private_media  # noqa: F401


def test_the_scan_list_filters_and_searches(admin_client):
    prediction = PredictionFactory(scan__original_filename="findme.jpeg")

    page = admin_client.get(reverse("admin:scans_scan_changelist"), {"q": "findme"}).content.decode()

    assert "findme.jpeg" in page
    assert prediction.scan.owner.email in page


def test_a_scan_page_shows_its_reading_read_only(admin_client):
    prediction = PredictionFactory(model_version="v-admin")

    page = admin_client.get(reverse("admin:scans_scan_change", args=[prediction.scan.pk])).content.decode()

    assert "v-admin" in page
    assert reverse("scans:image", args=[prediction.scan.pk]) in page


def test_readings_cannot_be_edited_or_added(admin_client):
    prediction = PredictionFactory()

    add = admin_client.get(reverse("admin:scans_prediction_add"))
    change = admin_client.post(reverse("admin:scans_prediction_change", args=[prediction.pk]), {"probability": 0.01})

    assert add.status_code == 403
    prediction.refresh_from_db()
    assert prediction.probability == pytest.approx(0.82)
    assert change.status_code == 403


@pytest.mark.parametrize("claim", ["live", "expired", "none"])
def test_claimed_now_means_a_live_claim_in_the_admin_and_on_the_worklist(admin_client, claim):
    scan = PredictionFactory(scan__original_filename="held.jpeg").scan
    holder, other = RadiologistFactory(), RadiologistFactory()
    if claim != "none":
        expires = timezone.now() + (timedelta(minutes=5) if claim == "live" else -timedelta(minutes=5))
        ReviewCase.objects.filter(scan=scan).update(claimed_by=holder, claim_expires_at=expires)
    case = ReviewCase.objects.get(scan=scan)

    page = admin_client.get(reverse("admin:scans_scan_changelist"), {"reviewed": "claimed"}).content.decode()
    held_by_others = worklist(other, claim="others").counts["others"]

    assert ("held.jpeg" in page) == (claim == "live")
    assert held_by_others == (1 if claim == "live" else 0)
    assert (case.claim_holder() == holder) == (claim == "live")
    assert ReviewCase.objects.claimed_now().filter(pk=case.pk).exists() == (claim == "live")


@pytest.mark.usefixtures("private_media")
def test_a_scan_is_found_by_the_study_uid_dicomweb_serves_it_under(admin_client):
    wanted, other = PredictionFactory().scan, PredictionFactory().scan
    study_uid = index_scan(wanted).study_instance_uid
    index_scan(other)

    listed = admin_client.get(reverse("admin:scans_scan_changelist"), {"q": study_uid}).context["cl"].result_list
    page = admin_client.get(reverse("admin:scans_scan_change", args=[wanted.pk])).content.decode()

    assert list(listed) == [wanted]
    assert study_uid in page
