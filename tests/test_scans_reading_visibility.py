"""One rule decides whether a user sees the AI reading: every page, the API and the files agree."""

import pytest
from django.urls import reverse

from scans.models import Scan
from tests.api_helpers import token_client
from tests.factories import PredictionFactory, ReviewFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db


def what_each_place_shows(client, scan) -> dict:
    client.force_login(scan.owner)
    detail = client.get(reverse("scans:detail", args=[scan.pk])).content.decode()
    api = token_client(scan.owner)
    return {
        "web page": f"{round(scan.latest_prediction.probability * 100)}%" in detail,
        "web heatmap": client.get(reverse("scans:heatmap", args=[scan.pk])).status_code == 200,
        "api reading": api.get(reverse("api:scan", args=[scan.pk])).json()["prediction"] is not None,
        "api heatmap": api.get(reverse("api:scan-heatmap", args=[scan.pk])).status_code == 200,
    }


def test_a_finished_scan_shows_its_reading_everywhere(client):
    scan = PredictionFactory(probability=0.83).scan
    assert set(what_each_place_shows(client, scan).values()) == {True}


def test_while_a_scan_is_re_run_no_place_shows_the_old_reading(client, django_capture_on_commit_callbacks):
    scan = PredictionFactory(probability=0.83).scan
    with django_capture_on_commit_callbacks(execute=False):
        scan.rerun_with_current_model()
    assert set(what_each_place_shows(client, Scan.objects.get(pk=scan.pk)).values()) == {False}


def test_a_held_reading_is_hidden_everywhere_until_the_review_and_shown_after(client, settings):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    scan = PredictionFactory(probability=0.83).scan
    assert set(what_each_place_shows(client, scan).values()) == {False}
    ReviewFactory(prediction=scan.latest_prediction)
    assert set(what_each_place_shows(client, Scan.objects.get(pk=scan.pk)).values()) == {True}
