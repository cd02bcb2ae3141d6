"""The preferences page: a patient turns result emails on and off."""

from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory

PREFERENCES_URL = reverse("accounts:preferences")


def test_it_shows_the_current_choice(client, db):
    client.force_login(UserFactory(notify_by_email=True))

    page = client.get(PREFERENCES_URL).content.decode()

    assert 'name="notify_by_email"' in page
    assert "checked" in page


def test_unticking_the_box_turns_emails_off(client, db):
    user = UserFactory(notify_by_email=True)
    client.force_login(user)

    response = client.post(PREFERENCES_URL, {})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.notify_by_email is False
    assert "preferences were saved" in client.get(PREFERENCES_URL).content.decode()


def test_ticking_the_box_turns_emails_on(client, db):
    user = UserFactory(notify_by_email=False)
    client.force_login(user)

    client.post(PREFERENCES_URL, {"notify_by_email": "on"})

    assert User.objects.get(pk=user.pk).notify_by_email is True


def test_it_changes_nothing_else(client, db):
    user = UserFactory(role=User.Role.PATIENT)
    client.force_login(user)

    client.post(PREFERENCES_URL, {"notify_by_email": "on", "role": "admin", "is_staff": "on"})

    user.refresh_from_db()
    assert user.role == User.Role.PATIENT
    assert user.is_staff is False
