"""GET /metrics: Prometheus text for staff or the scrape token, nothing for anyone else."""

import pytest
from django.urls import reverse

from tests.factories import PredictionFactory, ScanFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_it_is_not_found_for_anonymous_visitors_and_patients(client):
    assert client.get(reverse("metrics")).status_code == 404
    client.force_login(UserFactory())
    assert client.get(reverse("metrics")).status_code == 404


def test_staff_read_scans_by_status_inference_time_model_and_request_latency(staff_client):
    ScanFactory()
    PredictionFactory(inference_ms=12.0)
    staff_client.get(reverse("home"))
    text = staff_client.get(reverse("metrics")).content.decode()
    assert 'portal_scans{status="queued"} 1.0' in text
    assert 'portal_scans{status="done"} 1.0' in text
    assert 'portal_inference_milliseconds{quantile="0.5"} 12.0' in text
    assert "portal_model_info{version=" in text
    assert 'portal_queue_depth{queue="scans"}' in text
    assert 'portal_request_duration_seconds_bucket{le="0.01",method="GET",status="3xx",view="home"}' in text


def test_the_scrape_token_opens_it_and_a_wrong_one_does_not(client, settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    assert client.get(reverse("metrics"), headers={"Authorization": "Bearer wrong"}).status_code == 404
    response = client.get(reverse("metrics"), headers={"Authorization": "Bearer scrape-token-for-tests"})
    assert response.status_code == 200
    assert "portal_scans" in response.content.decode()


def test_no_token_configured_means_no_token_opens_it(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics"), headers={"Authorization": "Bearer "}).status_code == 404
