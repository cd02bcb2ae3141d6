"""seed_demo: demo accounts, and with --with-scans a worklist the demo radiologist can work end to end."""

import io
import re
import time

import pytest
from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import ApiToken, User
from hospitals.models import Site
from reviews.models import Review
from scans.models import Scan
from tests.factories import private_media  # noqa: F401

PASSWORD = "a-long-demo-password-42"


def log_in_with_second_factor(client, email: str) -> None:
    """The password, then the authenticator app's code for the key seed_demo printed."""
    client.logout()
    response = client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    secret = decrypt(Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP).data["secret"])
    code = format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302


def test_it_creates_the_demo_accounts_who_can_log_in(client, db):
    call_command("seed_demo", password=PASSWORD)

    assert User.objects.get(email="radiologist@example.com").is_radiologist
    assert User.objects.get(email="admin@example.com").is_superuser
    response = client.post(reverse("account_login"), {"login": "patient@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    log_in_with_second_factor(client, "radiologist@example.com")
    assert client.get(reverse("reviews:worklist")).status_code == 200
    assert not Scan.objects.exists()


def test_with_scans_the_radiologist_works_the_worklist_end_to_end(client, db):
    call_command("seed_demo", password=PASSWORD, with_scans=True)
    call_command("seed_demo", password=PASSWORD, with_scans=True)  # twice: nothing duplicated
    log_in_with_second_factor(client, "radiologist@example.com")
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


def test_it_creates_the_demo_hospital_whose_modality_the_listener_lets_in(db):
    from hospitals.intake import site_for_calling_ae

    call_command("seed_demo", password=PASSWORD)
    call_command("seed_demo", password=PASSWORD)  # run again: still one site, one AE title

    site = site_for_calling_ae("DEMO_MODALITY")
    assert site is not None and site.name == "Demo hospital"
    assert list(site.readers.values_list("email", flat=True)) == ["radiologist@example.com"]


def test_it_gives_the_demo_hospital_a_service_account_and_prints_its_stow_token(db):
    printed = [io.StringIO(), io.StringIO()]
    for out in printed:  # run again: a new token replaces the last, whose hash alone was kept
        call_command("seed_demo", password=PASSWORD, stdout=out)
    first, second = (re.search(r"stores by STOW-RS with token (\S+)", out.getvalue())[1] for out in printed)

    account = Site.objects.get(name="Demo hospital").service_account
    assert account.email == "pacs@demo-hospital.example" and not account.has_usable_password()
    assert ApiToken.find(first) is None
    assert ApiToken.find(second).user == account and account.api_tokens.count() == 1
