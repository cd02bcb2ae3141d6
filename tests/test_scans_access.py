"""Who may open which scan: patients only their own (404 otherwise), radiologists the cases waiting for
review, anonymous visitors nothing. tests/test_access_matrix.py has every URL for every role."""

import pytest
from django.urls import reverse

from tests.factories import PredictionFactory, RadiologistFactory, UserFactory, private_media  # noqa: F401

SCAN_ENDPOINTS = ["detail", "image", "heatmap", "status", "delete"]


@pytest.fixture
def someone_elses_scan(db):
    return PredictionFactory().scan  # pneumonia suspected: waiting for a radiologist


@pytest.mark.parametrize("endpoint", SCAN_ENDPOINTS)
def test_a_patient_gets_404_for_another_patients_scan(client, someone_elses_scan, endpoint):
    client.force_login(UserFactory())

    response = client.get(reverse(f"scans:{endpoint}", args=[someone_elses_scan.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("endpoint", SCAN_ENDPOINTS)
def test_an_anonymous_visitor_is_sent_to_log_in(client, someone_elses_scan, endpoint):
    url = reverse(f"scans:{endpoint}", args=[someone_elses_scan.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


@pytest.mark.parametrize("url_name", ["scans:history", "scans:upload", "accounts:preferences"])
def test_pages_without_a_scan_also_need_a_login(client, db, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_patient_cannot_delete_another_patients_scan(client, someone_elses_scan):
    client.force_login(UserFactory())

    response = client.post(reverse("scans:delete", args=[someone_elses_scan.pk]))

    assert response.status_code == 404
    someone_elses_scan.refresh_from_db()  # still there


@pytest.mark.parametrize("endpoint", ["detail", "image", "heatmap", "status"])
def test_a_radiologist_may_read_a_scan_waiting_for_review(client, someone_elses_scan, endpoint):
    client.force_login(RadiologistFactory())

    response = client.get(reverse(f"scans:{endpoint}", args=[someone_elses_scan.pk]))

    assert response.status_code == 200


def test_a_radiologist_may_not_delete_a_patients_scan(client, someone_elses_scan):
    client.force_login(RadiologistFactory())

    response = client.post(reverse("scans:delete", args=[someone_elses_scan.pk]))

    assert response.status_code == 404
    someone_elses_scan.refresh_from_db()  # still there


@pytest.mark.parametrize("endpoint", ["detail", "image", "heatmap", "status"])
def test_a_radiologist_gets_404_for_a_scan_nobody_asked_them_to_review(client, db, endpoint):
    cleared = PredictionFactory(normal=True).scan
    client.force_login(RadiologistFactory())

    response = client.get(reverse(f"scans:{endpoint}", args=[cleared.pk]))

    assert response.status_code == 404
