"""Sites in Django admin: set up with their AE titles and readers; the site's identifiers of a study
are read-only and each opening is audited; deliveries show their state and can be sent again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from hospitals.models import ResultDelivery, Site
from tests.factories import RadiologistFactory, private_media  # noqa: F401
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_site_with_an_ae_title_reader_and_destination(admin_client):
    reader = RadiologistFactory()
    form = {
        "name": "St Mary's", "is_active": "on", "readers": [reader.pk],
        "destination_ae_title": "STMARY_PACS", "destination_host": "10.1.2.3", "destination_port": "104",
        "ae_titles-TOTAL_FORMS": "1", "ae_titles-INITIAL_FORMS": "0",
        "ae_titles-0-ae_title": "STMARY_CR1", "ae_titles-0-host": "",
    }  # fmt: skip
    response = admin_client.post(reverse("admin:hospitals_site_add"), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    site = Site.objects.get(name="St Mary's")
    assert site.has_destination and list(site.readers.all()) == [reader]
    assert list(site.ae_titles.values_list("ae_title", flat=True)) == ["STMARY_CR1"]


def test_a_destination_without_its_port_is_refused(admin_client):
    form = {
        "name": "Half set up", "is_active": "on", "destination_ae_title": "PACS", "destination_host": "10.1.2.3",
        "ae_titles-TOTAL_FORMS": "0", "ae_titles-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = admin_client.post(reverse("admin:hospitals_site_add"), form)
    assert response.status_code == 200 and not Site.objects.exists()


def test_an_ae_title_with_a_backslash_is_refused(admin_client):
    form = {
        "name": "Typo", "is_active": "on",
        "ae_titles-TOTAL_FORMS": "1", "ae_titles-INITIAL_FORMS": "0", "ae_titles-0-ae_title": "CR\\1",
    }  # fmt: skip
    response = admin_client.post(reverse("admin:hospitals_site_add"), form)
    assert response.status_code == 200 and not Site.objects.exists()


def test_opening_a_studys_origin_in_admin_is_audited(admin_client, admin_user):
    origin = site_reading().scan.dicom_origin
    response = admin_client.get(reverse("admin:hospitals_dicomorigin_change", args=[origin.pk]))
    assert response.status_code == 200 and origin.accession_number in response.content.decode()
    assert AuditEvent.objects.filter(actor=admin_user, object_type="dicomorigin", object_id=origin.pk).exists()


def test_send_again_queues_the_unsent_results(admin_client, django_capture_on_commit_callbacks):
    scan = site_reading().scan
    failed = ResultDelivery.objects.create(
        scan=scan, kind="sr", revision=1, sop_instance_uid="2.25.1", destination="PACS@10.1.2.3:104", state="failed"
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:hospitals_resultdelivery_changelist"),
            {"action": "send_again", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == "pending" and len(callbacks) == 1
