"""Stored X-rays and heatmaps are streamed only through permission-checked views, never cached."""

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from tests.factories import GREY_PNG, HEATMAP_PNG, PredictionFactory, ScanFactory, private_media  # noqa: F401


@pytest.mark.parametrize(("endpoint", "expected"), [("image", GREY_PNG), ("heatmap", HEATMAP_PNG)])
def test_the_owner_gets_the_stored_png_with_private_headers(client, db, endpoint, expected):
    prediction = PredictionFactory()
    client.force_login(prediction.scan.owner)

    response = client.get(reverse(f"scans:{endpoint}", args=[prediction.scan.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == expected
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")


def test_a_scan_without_a_reading_has_no_heatmap(client, db):
    scan = ScanFactory()
    client.force_login(scan.owner)

    response = client.get(reverse("scans:heatmap", args=[scan.pk]))

    assert response.status_code == 404


def test_a_missing_stored_file_is_a_404_not_an_error(client, db):
    scan = ScanFactory()
    scan.image.storage.delete(scan.image.name)
    client.force_login(scan.owner)

    response = client.get(reverse("scans:image", args=[scan.pk]))

    assert response.status_code == 404


@override_settings(MEDIA_URL="/media/")
def test_stored_files_have_no_public_url(client, db):
    scan = ScanFactory()
    client.force_login(scan.owner)

    response = client.get(f"/media/{scan.image.name}")

    assert response.status_code == 404
    assert not settings.MEDIA_URL or settings.MEDIA_URL == "/media/"
