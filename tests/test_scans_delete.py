"""Deleting a scan: a confirmation page, then the row, its readings and every stored file go."""

from django.urls import reverse

from scans.models import Prediction, Scan
from tests.factories import PredictionFactory, private_media  # noqa: F401


def test_a_get_asks_for_confirmation_and_deletes_nothing(client, db):
    scan = PredictionFactory().scan
    client.force_login(scan.owner)

    response = client.get(reverse("scans:delete", args=[scan.pk]))

    assert "Delete this X-ray?" in response.content.decode()
    assert 'method="post"' in response.content.decode()
    assert Scan.objects.filter(pk=scan.pk).exists()


def test_posting_deletes_the_row_the_reading_and_the_stored_files(client, db, django_capture_on_commit_callbacks):
    prediction = PredictionFactory()
    scan = prediction.scan
    storage, names = scan.image.storage, [scan.image.name, prediction.heatmap.name]
    client.force_login(scan.owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scans:delete", args=[scan.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("scans:history")
    assert not Scan.objects.filter(pk=scan.pk).exists()
    assert not Prediction.objects.filter(pk=prediction.pk).exists()
    assert not any(storage.exists(name) for name in names)
    assert "were deleted" in client.get(response["Location"]).content.decode()
