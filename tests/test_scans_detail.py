"""One scan's page: the reading in plain words, the heatmap over the image, and the status polled
only while the scan is unfinished."""

import json

import pytest
from django.urls import reverse

from scans.models import Scan
from tests.factories import PredictionFactory, ScanFactory, private_media  # noqa: F401

DISCLAIMER = (
    "This reading comes from a computer model trained on 5,216 chest X-rays of children aged one to five "
    "from one hospital in Guangzhou, China. It is a screening aid, not a diagnosis; it is not validated "
    "for adults or for other conditions. A clinician makes the diagnosis."
)
POLLING = 'hx-trigger="load delay:150ms, every 500ms"'


def open_detail(client, scan):
    client.force_login(scan.owner)
    return client.get(reverse("scans:detail", args=[scan.pk])).content.decode()


def test_it_shows_the_probability_label_review_flag_and_model_version(client, db):
    prediction = PredictionFactory(probability=0.82, model_version="pneumonia-v3+abc")

    page = open_detail(client, prediction.scan)

    assert "82%" in page
    assert "Pneumonia suspected" in page
    assert "Needs radiologist review" in page
    assert "pneumonia-v3+abc" in page
    assert DISCLAIMER in page
    assert reverse("about_model") in page


def test_a_normal_reading_is_not_flagged_for_review(client, db):
    prediction = PredictionFactory(normal=True)

    page = open_detail(client, prediction.scan)

    assert "No pneumonia detected" in page
    assert "Needs radiologist review" not in page
    assert "did not flag this X-ray" in page


def test_an_uncertain_reading_explains_the_band_from_the_models_manifest(client, db, settings, tmp_path):
    prediction = PredictionFactory(uncertain=True, model_version="v-band")
    manifest = {"version": "v-band", "calibration": {"threshold": 0.42, "review_band": [0.18, 0.42]}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    settings.SCAN_MODEL_PATH = str(tmp_path)

    page = open_detail(client, prediction.scan)

    assert "Uncertain" in page
    assert "Needs radiologist review" in page
    assert "uncertain range (from 18% up to 42%)" in page


def test_the_heatmap_is_overlaid_with_controls_and_no_inline_script(client, db):
    prediction = PredictionFactory()

    page = open_detail(client, prediction.scan)

    assert reverse("scans:image", args=[prediction.scan.pk]) in page
    assert reverse("scans:heatmap", args=[prediction.scan.pk]) in page
    assert "data-heatmap-opacity" in page
    assert "data-heatmap-toggle" in page
    assert "<script>" not in page
    assert " onclick=" not in page
    assert " style=" not in page


@pytest.mark.parametrize(
    ("status", "reason", "words"),
    [
        (Scan.Status.REJECTED, "This looks like a colour photograph.", "could not be read as a chest X-ray"),
        (Scan.Status.FAILED, "Something went wrong while reading this X-ray.", "could not finish reading"),
    ],
)
def test_a_refused_or_failed_scan_gives_the_reason_in_plain_words(client, db, status, reason, words):
    scan = ScanFactory(status=status, status_reason=reason)

    page = open_detail(client, scan)

    assert reason in page
    assert words in page
    assert POLLING not in page


@pytest.mark.parametrize("status", [Scan.Status.QUEUED, Scan.Status.PROCESSING])
def test_an_unfinished_scan_polls_its_status(client, db, status):
    scan = ScanFactory(status=status)

    page = open_detail(client, scan)

    assert POLLING in page
    assert reverse("scans:status", args=[scan.pk]) in page


def test_a_finished_scan_does_not_poll(client, db):
    page = open_detail(client, PredictionFactory().scan)

    assert POLLING not in page


def test_the_status_fragment_keeps_polling_while_unfinished(client, db):
    scan = ScanFactory(status=Scan.Status.PROCESSING)
    client.force_login(scan.owner)

    response = client.get(reverse("scans:status", args=[scan.pk]), headers={"HX-Request": "true"})

    fragment = response.content.decode()
    assert POLLING in fragment
    assert "<html" not in fragment
    assert "HX-Refresh" not in response


def test_the_status_fragment_sends_nothing_while_the_status_is_unchanged(client, db):
    scan = ScanFactory(status=Scan.Status.QUEUED)
    client.force_login(scan.owner)

    response = client.get(reverse("scans:status", args=[scan.pk]), {"shown": "queued"}, headers={"HX-Request": "true"})

    assert response.status_code == 204


def test_the_status_fragment_shows_a_new_status(client, db):
    scan = ScanFactory(status=Scan.Status.PROCESSING)
    client.force_login(scan.owner)

    response = client.get(reverse("scans:status", args=[scan.pk]), {"shown": "queued"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "reading the X-ray now" in response.content.decode()


def test_the_status_fragment_shows_the_result_once_finished(client, db):
    scan = PredictionFactory().scan
    client.force_login(scan.owner)

    response = client.get(reverse("scans:status", args=[scan.pk]), headers={"HX-Request": "true"})

    assert response["HX-Refresh"] == "true"


def test_the_status_fragment_without_htmx_stops_polling_once_finished(client, db):
    scan = ScanFactory(status=Scan.Status.REJECTED, status_reason="Not an X-ray.")
    client.force_login(scan.owner)

    response = client.get(reverse("scans:status", args=[scan.pk]))

    assert "Not an X-ray." in response.content.decode()
    assert POLLING not in response.content.decode()
