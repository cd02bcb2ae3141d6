"""seed_demo: demo accounts, and with --with-scans a worklist the demo radiologist can work end to end."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User
from reviews.models import Review
from scans.models import Scan
from tests.factories import private_media  # noqa: F401

PASSWORD = "a-long-demo-password-42"


def test_it_creates_the_demo_accounts_who_can_log_in(client, db):
    call_command("seed_demo", password=PASSWORD)

    assert User.objects.get(email="radiologist@example.com").is_radiologist
    assert User.objects.get(email="admin@example.com").is_superuser
    response = client.post(reverse("account_login"), {"login": "radiologist@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert not Scan.objects.exists()


def test_with_scans_the_radiologist_works_the_worklist_end_to_end(client, db):
    call_command("seed_demo", password=PASSWORD, with_scans=True)
    call_command("seed_demo", password=PASSWORD, with_scans=True)  # twice: nothing duplicated
    client.post(reverse("account_login"), {"login": "radiologist@example.com", "password": PASSWORD})
    suspected = Scan.objects.get(original_filename="demo-suspected.png")

    worklist = client.get(reverse("reviews:worklist")).content.decode()
    client.post(reverse("reviews:claim", args=[suspected.pk]))
    image = client.get(reverse("scans:image", args=[suspected.pk]))
    client.post(reverse("reviews:case", args=[suspected.pk]), {"finding": "pneumonia", "patient_note": "See a doctor."})

    assert Scan.objects.count() == 3
    assert "demo-cleared" not in worklist
    assert worklist.count('data-case="') == 2
    assert image.status_code == 200
    assert Review.objects.get(scan=suspected).radiologist.email == "radiologist@example.com"


def test_it_refuses_to_run_in_production(db, settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError):
        call_command("seed_demo", password=PASSWORD)
