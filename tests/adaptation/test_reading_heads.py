"""Which head reads a film, switching heads on the staff page (audited), and rolling back."""

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from adaptation.heads import head_for
from adaptation.models import ReadingHead
from audit.models import AuditEvent
from inference import services
from ml.heads import Head
from ml.preprocessing import decode, encode_png
from scans.models import Scan
from tests.factories import ReadingHeadFactory, ScanFactory, SiteFactory, private_media, serving_network_version  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_scan(xray_bytes):
    def make(**fields):
        decoded = decode(xray_bytes)
        width, height = decoded.size
        return ScanFactory(image=ContentFile(encode_png(decoded), name="x.png"), width=width, height=height, **fields)

    return make


def site_scan(site, **fields):
    return ScanFactory(owner=None, patient=None, site=site, **fields)


def test_a_reading_names_its_adaptation_version_and_uses_the_head(real_scan):
    head = ReadingHeadFactory(active=True)
    scan = real_scan()

    assert services.process_scan(scan.pk, task_id="t1") == Scan.Status.DONE

    prediction = scan.predictions.get()
    assert prediction.model_version == f"{serving_network_version()}+local.{head.number}"
    embedding = np.frombuffer(bytes(prediction.embedding), dtype=np.float32)
    assert prediction.probability == pytest.approx(Head.from_dict(head.head).probability(prediction.logit, embedding))


def test_a_sites_study_uses_its_sites_head_else_the_installations():
    site, other = SiteFactory(), SiteFactory()
    installation = ReadingHeadFactory(active=True)
    own = ReadingHeadFactory(site=site, active=True)

    assert head_for(site_scan(site))[1] == f"+site-{site.pk}.{own.number}"
    assert head_for(site_scan(other))[1] == f"+local.{installation.number}"
    assert head_for(ScanFactory())[1] == f"+local.{installation.number}"  # a patient's upload


def test_with_no_active_head_or_one_of_another_network_the_shipped_head_reads():
    ReadingHeadFactory(active=False)
    ReadingHeadFactory(active=True, base_model_version="pneumonia-cnn-0+000000000000")

    assert head_for(ScanFactory()) == (None, "")


def test_staff_activate_a_head_that_passed_and_the_previous_one_stops(admin_client, admin_user):
    site = SiteFactory()
    old, new = ReadingHeadFactory(site=site, active=True), ReadingHeadFactory(site=site)

    response = admin_client.post(reverse("adaptation:activate", args=[new.pk]), follow=True)

    old.refresh_from_db(), new.refresh_from_db()
    assert new.active and new.activated_at and not old.active
    assert f"read as {new.version}" in response.content.decode()
    event = AuditEvent.objects.get(object_type="readinghead", object_id=new.pk)
    assert (
        event.actor == admin_user
        and event.action == "changed"
        and f"activated reading head {new.label}" in event.detail
    )


def test_a_head_that_failed_its_guardrails_cannot_be_activated(admin_client):
    refused = ReadingHeadFactory(refused=True)

    response = admin_client.post(reverse("adaptation:activate", args=[refused.pk]), follow=True)

    refused.refresh_from_db()
    assert not refused.active and "Not activated" in response.content.decode()
    assert "worse than the shipped head" in response.content.decode()


def test_a_rollback_restores_the_base_and_earlier_readings_stay(admin_client, admin_user, real_scan):
    head = ReadingHeadFactory(active=True)
    scan = real_scan()
    services.process_scan(scan.pk, task_id="t1")

    admin_client.post(reverse("adaptation:roll_back"), {"site": ""})
    scan.rerun_with_current_model()  # the explicit admin action
    services.process_scan(scan.pk, task_id="t2")

    versions = set(scan.predictions.values_list("model_version", flat=True))
    assert versions == {serving_network_version() + head.label, serving_network_version()}
    assert not ReadingHead.objects.filter(active=True).exists()
    event = AuditEvent.objects.get(object_type="readinghead", detail__startswith="rolled back")
    assert event.actor == admin_user and "the installation" in event.detail


def test_rolling_back_to_an_earlier_head_makes_it_read_again(admin_client):
    first = ReadingHeadFactory(active=True, activated_at="2026-01-01T00:00Z")
    second = ReadingHeadFactory()
    admin_client.post(reverse("adaptation:activate", args=[second.pk]))
    admin_client.post(reverse("adaptation:activate", args=[first.pk]))

    assert head_for(ScanFactory())[1] == first.label


def test_the_page_lists_the_heads_and_names_the_one_reading(admin_client):
    site = SiteFactory()
    head = ReadingHeadFactory(site=site, active=True)

    page = admin_client.get(reverse("adaptation:page"), {"site": site.pk}).content.decode()

    assert f"<strong data-active-head>{head.version}</strong>." in page
    assert "Stop the site's own head" in page


def test_a_site_without_its_own_head_is_shown_the_installations_that_reads_its_films(admin_client):
    site = SiteFactory()
    installation = ReadingHeadFactory(active=True)

    page = admin_client.get(reverse("adaptation:page"), {"site": site.pk}).content.decode()

    assert f"<strong data-active-head>{installation.version}</strong>, the installation's head" in page
    assert "Stop the site's own head" not in page


REPORT = {
    "refusal": None,
    "cases": 240,
    "normal": 120,
    "pneumonia": 120,
    "figures": {
        "shipped": {"auc": {"value": 0.97, "ci": [0.95, 0.985]}, "accuracy": {"value": 0.862, "ci": [0.82, 0.9]}},
        "adapted": {"auc": {"value": 0.98, "ci": [0.96, 0.99]}, "accuracy": {"value": 0.93, "ci": [0.9, 0.96]}},
    },
    "reliability": {
        "shipped": [
            {"confidence": 0.25, "observed": 0.05, "count": 40},
            {"confidence": 0.9, "observed": 0.95, "count": 0},
        ],
        "adapted": [{"confidence": 0.1, "observed": 0.08, "count": 40}],
    },
}


def test_the_head_page_shows_figures_with_intervals_and_an_accessible_reliability_diagram(admin_client):
    head = ReadingHeadFactory(report=REPORT)

    page = admin_client.get(reverse("adaptation:head", args=[head.pk])).content.decode()

    assert "<td>86.2 % (82.0 % to 90.0 %)</td><td>93.0 % (90.0 % to 96.0 %)</td>" in page
    assert "<td>0.970 (0.950 to 0.985)</td>" in page
    assert 'role="img" aria-labelledby="reliability-title reliability-caption"' in page
    assert '<polyline points="108.0,240.0"' in page  # shipped: 0.25 predicted, 0.05 observed; empty bins left out
    assert "<td>Shipped</td><td>0.250</td><td>0.050</td><td>40</td>" in page
