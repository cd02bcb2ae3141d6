"""Staff and radiologists need a second factor for patients' X-rays; patients may add one."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import (
    PASSWORD,
    RadiologistFactory,
    StaffFactory,
    UserFactory,
    current_totp_code,
    private_media,  # noqa: F401
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", ["reviews:worklist", "admin:index", "staff:monitoring"])
@pytest.mark.parametrize("factory", [RadiologistFactory, StaffFactory])
def test_staff_and_radiologists_without_a_second_factor_are_sent_to_set_one_up(client, factory, url_name):
    client.force_login(factory(second_factor=False, is_staff=True))
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert "next=" in response["Location"]


def test_a_patient_needs_no_second_factor_but_may_set_one_up(client):
    client.force_login(UserFactory())
    assert client.get(reverse("scans:history")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_a_radiologist_with_a_second_factor_logs_in_with_password_and_code(client):
    radiologist = verified(RadiologistFactory())
    response = client.post(reverse("account_login"), {"login": radiologist.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("reviews:worklist")).status_code == 302  # not logged in on the password alone

    assert client.post(reverse("mfa_authenticate"), {"code": "000000"}).status_code == 200  # refused, asked again
    assert client.get(reverse("reviews:worklist")).status_code == 302

    assert client.post(reverse("mfa_authenticate"), {"code": current_totp_code()}).status_code == 302
    assert client.get(reverse("reviews:worklist")).status_code == 200


def test_a_password_alone_does_not_make_a_radiologist_an_api_token(client):
    radiologist = verified(RadiologistFactory())
    response = client.post(
        reverse("api:token"), {"email": radiologist.email, "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "second factor" in response.json()["non_field_errors"][0]
