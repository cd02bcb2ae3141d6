"""Logins: a new session key at login, the session gone from the server at logout, every session of a
deactivated account ended, an idle timeout, and Django's four password rules with 12 characters."""

import time
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin import helpers
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import REFRESHED_AT
from accounts.models import User
from tests.factories import PASSWORD, UserFactory

PRIVATE_PAGE = reverse("scans:history")


def verified_user() -> User:
    """A patient whose email is confirmed, so the login form logs them straight in."""
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def log_in(client, user) -> str:
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.cookies["sessionid"].value


def is_logged_in(client) -> bool:
    return client.get(PRIVATE_PAGE).status_code == 200


def test_logging_in_gives_a_new_session_key(client, db):
    """A session key planted before login (session fixation) is worth nothing after it."""
    user = verified_user()
    session = client.session
    session["planted"] = True
    session.save()
    planted_key = session.session_key

    new_key = log_in(client, user)

    assert new_key != planted_key
    assert not Session.objects.filter(session_key=planted_key).exists()
    assert is_logged_in(client)


def test_a_session_cookie_copied_before_logout_is_worthless_after_it(client, db):
    user = verified_user()
    key = log_in(client, user)
    thief = Client()
    thief.cookies["sessionid"] = key
    assert is_logged_in(thief)

    client.post(reverse("account_logout"))

    assert not Session.objects.filter(session_key=key).exists()
    assert not is_logged_in(thief)
    assert not is_logged_in(client)


@pytest.fixture
def logged_in_twice(db):
    """A patient logged in on two devices, and someone else logged in beside them."""
    patient, bystander = verified_user(), verified_user()
    devices = [Client(), Client()]
    for device in devices:
        log_in(device, patient)
    other = Client()
    log_in(other, bystander)
    return patient, devices, other


def test_deactivating_an_account_in_the_admin_list_ends_all_its_sessions(admin_client, logged_in_twice):
    patient, devices, other = logged_in_twice
    keys = [device.cookies["sessionid"].value for device in devices]

    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate", helpers.ACTION_CHECKBOX_NAME: [patient.pk]},
    )

    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not any(is_logged_in(device) for device in devices)
    assert is_logged_in(other)


def test_unticking_active_on_the_account_page_ends_all_its_sessions(admin_client, logged_in_twice):
    patient, devices, other = logged_in_twice
    page = admin_client.get(reverse("admin:accounts_user_change", args=[patient.pk]))
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "is_active"}
    data.update(password="", groups=[], user_permissions=[], last_login_0="", last_login_1="")
    data.update(date_joined_0=patient.date_joined.date().isoformat(), date_joined_1="12:00:00")

    response = admin_client.post(reverse("admin:accounts_user_change", args=[patient.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=patient.pk).is_active is False
    assert not any(is_logged_in(device) for device in devices)
    assert is_logged_in(other)
    assert Session.objects.count() == 2  # the admin's and the bystander's


def stored_expiry(client):
    return Session.objects.get(pk=client.session.session_key).expire_date


def test_use_after_a_pause_pushes_the_idle_timeout_on(client, db, settings):
    log_in(client, verified_user())
    session = client.session
    session[REFRESHED_AT] -= settings.SESSION_REFRESH_SECONDS  # the last push was a minute ago
    session.save()
    Session.objects.filter(pk=session.session_key).update(expire_date=timezone.now() + timedelta(seconds=5))

    assert is_logged_in(client)

    assert stored_expiry(client) > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_requests_within_the_refresh_interval_do_not_write_the_session(client, db):
    log_in(client, verified_user())
    written = stored_expiry(client)

    for _ in range(3):
        assert is_logged_in(client)

    assert stored_expiry(client) == written


def test_a_user_in_steady_use_stays_logged_in_past_the_timeout(client, db, settings):
    """Pushes once a minute keep a login alive however long the work goes on."""
    settings.SESSION_COOKIE_AGE, settings.SESSION_REFRESH_SECONDS = 3, 1
    log_in(client, verified_user())

    for _ in range(4):  # 4 s of use, a request every second, against a 3 s timeout
        time.sleep(1)
        assert is_logged_in(client)


def test_an_anonymous_visit_starts_no_session(client, db):
    client.get(reverse("account_login"))

    assert Session.objects.count() == 0


def test_a_session_idle_past_the_timeout_is_logged_out(client, db):
    log_in(client, verified_user())
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get(PRIVATE_PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_idle_timeout_is_half_an_hour_by_default(settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_REFRESH_SECONDS == 60


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Xq7!vLp2#", "at least 12 characters"),
        ("password1234", "too common"),
        ("839201746381", "entirely numeric"),
        ("jane.doe.example", "too similar to the email address"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(db, password, reason):
    user = User(email="jane.doe.example@example.com")

    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)

    assert reason in " ".join(refused.value.messages)


def test_a_long_uncommon_password_is_accepted(db):
    validate_password("kettle-orbit-plum-79", User(email="jane@example.com"))


def test_sign_up_refuses_a_short_password(client, db):
    response = client.post(
        reverse("account_signup"), {"email": "new@example.com", "password1": "Xq7!vLp2#", "password2": "Xq7!vLp2#"}
    )

    assert "at least 12 characters" in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()


def test_a_patient_sees_where_they_are_logged_in_and_can_end_the_other_logins(client, db):
    from allauth.usersessions.models import UserSession
    from django.test import Client
    from django.urls import reverse

    from tests.factories import PASSWORD

    patient = verified_user()
    phone, laptop = Client(), client
    for device in (phone, laptop):
        assert device.post(reverse("account_login"), {"login": patient.email, "password": PASSWORD}).status_code == 302
    assert UserSession.objects.filter(user=patient).count() == 2

    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    laptop.post(reverse("usersessions_list"), {"action": "sign_out_others"})

    assert UserSession.objects.filter(user=patient).count() == 1
    assert phone.get(reverse("scans:history")).status_code == 302  # logged out
    assert laptop.get(reverse("scans:history")).status_code == 200
