"""The admin lists and searches scans; readings are read-only."""

import pytest
from django.urls import reverse

from tests.factories import PredictionFactory, private_media  # noqa: F401


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
