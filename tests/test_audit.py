"""The audit log: who viewed, downloaded, changed or was refused which scan, reading or review; append-only."""

import pytest
from django.urls import reverse

from audit.models import AppendOnlyError, AuditEvent
from tests.factories import PredictionFactory, RadiologistFactory, ReviewFactory, UserFactory, private_media  # noqa: F401

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


@pytest.fixture
def scan(db):
    return PredictionFactory().scan


def get(client, url_name, *args):
    return client.get(reverse(url_name, args=args), REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=BROWSER)


def only_event(**filters) -> AuditEvent:
    (event,) = AuditEvent.objects.filter(**filters)
    return event


def test_viewing_a_scan_records_who_when_and_from_where(client, scan):
    client.force_login(scan.owner)

    get(client, "scans:detail", scan.pk)

    event = only_event(action="viewed")
    assert (event.actor, event.object_type, event.object_id, event.scan_id) == (scan.owner, "scan", scan.pk, scan.pk)
    assert (event.ip_address, event.user_agent) == ("203.0.113.7", BROWSER)
    assert event.path == f"/scans/{scan.pk}/"
    assert event.created_at is not None


def test_downloading_the_image_and_the_heatmap_is_recorded(client, scan):
    client.force_login(scan.owner)

    get(client, "scans:image", scan.pk)
    get(client, "scans:heatmap", scan.pk)

    downloads = AuditEvent.objects.filter(action="downloaded").order_by("id")
    assert [(event.object_type, event.scan_id) for event in downloads] == [("scan", scan.pk), ("prediction", scan.pk)]
    assert downloads[1].object_id == scan.latest_prediction.pk


def test_a_refusal_records_the_scan_that_was_asked_for(client, scan):
    intruder = UserFactory()
    client.force_login(intruder)

    response = get(client, "scans:image", scan.pk)

    assert response.status_code == 404
    event = only_event(action="refused")
    assert (event.actor, event.scan_id, event.ip_address) == (intruder, scan.pk, "203.0.113.7")


def test_a_non_radiologist_refused_a_review_page_is_recorded(client, scan):
    client.force_login(scan.owner)

    get(client, "reviews:case", scan.pk)

    assert only_event(action="refused").scan_id == scan.pk


def test_status_polls_are_not_recorded(client, scan):
    client.force_login(scan.owner)

    get(client, "scans:status", scan.pk)

    assert not AuditEvent.objects.exists()


def test_deleting_a_scan_leaves_its_record(client, scan):
    client.force_login(scan.owner)

    client.post(reverse("scans:delete", args=[scan.pk]))

    event = only_event(action="deleted")
    assert (event.actor, event.scan_id) == (scan.owner, scan.pk)


def test_claiming_and_signing_a_review_are_recorded(client, scan):
    radiologist = RadiologistFactory()
    client.force_login(radiologist)

    client.post(reverse("reviews:claim", args=[scan.pk]))
    client.post(reverse("reviews:case", args=[scan.pk]), {"finding": "pneumonia"})

    assert only_event(action="claimed").scan_id == scan.pk
    reviewed = only_event(action="reviewed")
    assert (reviewed.actor, reviewed.object_type, reviewed.scan_id) == (radiologist, "review", scan.pk)
    assert reviewed.object_id == scan.reviews.get().pk


def test_asking_for_a_review_is_recorded(client, scan):
    client.force_login(scan.owner)

    client.post(reverse("reviews:request", args=[scan.pk]))

    assert only_event(action="requested").scan_id == scan.pk


class TestAppendOnly:
    @pytest.fixture
    def event(self, scan):
        return AuditEvent.objects.create(action="viewed", object_type="scan", object_id=scan.pk, scan_id=scan.pk)

    def test_a_written_event_cannot_be_saved_again(self, event):
        event.action = "deleted"

        with pytest.raises(AppendOnlyError):
            event.save()

        assert AuditEvent.objects.get().action == "viewed"

    def test_an_event_cannot_be_deleted(self, event):
        with pytest.raises(AppendOnlyError):
            event.delete()

        assert AuditEvent.objects.count() == 1

    def test_the_queryset_refuses_bulk_updates_and_deletes(self, event):
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).update(action="deleted")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.all().delete()

        assert AuditEvent.objects.get().action == "viewed"

    def test_deleting_an_account_keeps_its_events_without_the_actor(self, db):
        user = UserFactory()
        AuditEvent.objects.create(actor=user, action="viewed", object_type="scan", object_id=1)

        user.delete()

        assert AuditEvent.objects.get().actor is None

    @pytest.mark.postgresql
    def test_the_database_itself_refuses_to_change_or_delete_an_event(self, event):
        from django.db import connection, transaction
        from django.db.utils import DatabaseError

        for sql in ("UPDATE audit_auditevent SET action = 'deleted'", "DELETE FROM audit_auditevent"):
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
        assert AuditEvent.objects.get().action == "viewed"

    @pytest.mark.postgresql
    def test_the_database_lets_a_deleted_user_leave_the_events_and_nothing_else_change(self, db):
        from django.db import connection, transaction
        from django.db.utils import DatabaseError

        user = UserFactory()
        event = AuditEvent.objects.create(actor=user, action="viewed", object_type="scan", object_id=1)
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET actor_id = NULL, detail = 'rewritten' WHERE id = %s", [event.pk]
            )
        user.delete()
        event = AuditEvent.objects.get()
        assert (event.actor, event.detail) == (None, "")


class TestClientAddress:
    """The address recorded is the one login throttling trusts: TRUSTED_PROXY_COUNT decides."""

    def view_behind_proxies(self, client, scan, forwarded_for):
        client.force_login(scan.owner)
        client.get(reverse("scans:detail", args=[scan.pk]), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
        return only_event(action="viewed").ip_address

    def test_without_trusted_proxies_the_direct_peer_is_recorded(self, client, scan, settings):
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
        assert self.view_behind_proxies(client, scan, "198.51.100.9") == "10.0.0.2"

    def test_behind_one_proxy_the_address_it_saw_is_recorded_not_what_the_client_wrote(self, client, scan, settings):
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
        # The client wrote the first entry itself; the proxy appended the address it saw.
        assert self.view_behind_proxies(client, scan, "1.2.3.4, 203.0.113.50") == "203.0.113.50"


class TestAdmin:
    @pytest.fixture
    def event(self, scan):
        return AuditEvent.objects.create(
            actor=scan.owner,
            action="refused",
            object_type="scan",
            object_id=scan.pk,
            scan_id=scan.pk,
            ip_address="198.51.100.4",
        )

    def test_admins_browse_and_filter_the_log(self, admin_client, event):
        AuditEvent.objects.create(
            action="viewed", object_type="scan", object_id=999, scan_id=999, ip_address="192.0.2.250"
        )

        page = admin_client.get(
            reverse("admin:audit_auditevent_changelist"), {"action__exact": "refused"}
        ).content.decode()

        assert "198.51.100.4" in page
        assert "192.0.2.250" not in page

    def test_admins_search_by_scan(self, admin_client, event):
        page = admin_client.get(
            reverse("admin:audit_auditevent_changelist"), {"q": str(event.scan_id)}
        ).content.decode()

        assert "198.51.100.4" in page

    def test_nobody_adds_edits_or_deletes_through_the_admin(self, admin_client, event):
        add = admin_client.get(reverse("admin:audit_auditevent_add"))
        change = admin_client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"action": "viewed"})
        delete = admin_client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"})

        assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
        assert AuditEvent.objects.get().action == "refused"

    def test_the_admin_records_that_it_showed_a_scan(self, admin_client, admin_user, scan):
        admin_client.get(reverse("admin:scans_scan_change", args=[scan.pk]))

        event = AuditEvent.objects.get(action="viewed")
        assert (event.actor, event.scan_id, event.detail) == (admin_user, scan.pk, "admin")


def test_the_patient_reading_a_review_is_recorded(client, db):
    review = ReviewFactory()
    client.force_login(review.scan.owner)

    get(client, "scans:detail", review.scan.pk)

    event = only_event(action="viewed", object_type="review")
    assert (event.actor, event.object_id, event.scan_id) == (review.scan.owner, review.pk, review.scan.pk)
