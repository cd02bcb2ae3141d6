"""A second factor holds on the API too: whoever turned one on gets no token from the password alone."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import (
    PASSWORD,
    RadiologistFactory,
    SiteFactory,
    StaffFactory,
    UserFactory,
    current_totp_code,
    with_second_factor,
)

TOKEN_URL = reverse("api:token")


def ask_for_token(user, password=PASSWORD, **extra):
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return APIClient().post(TOKEN_URL, {"email": user.email, "password": password, **extra}, format="json")


def refused_as_wrong_credentials(response) -> bool:
    """The one answer for a wrong password, code or both: it asks for the code, and says no more."""
    body = response.json()
    return response.status_code == 400 and list(body) == ["non_field_errors"] and body == WRONG_CREDENTIALS


WRONG_CREDENTIALS = {
    "non_field_errors": [
        "Wrong email address, password or code. An account with a second factor also sends `code`: its "
        "authenticator app's code, or an unused recovery code (after several wrong codes, wait a few minutes)."
    ]
}


def security_key(user):
    """A WebAuthn authenticator as allauth stores it; its data is never read to check a typed code."""
    return Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN, data={"credential": {}})


def patient_with_app(db):
    return with_second_factor(UserFactory())


def radiologist_with_app(db):
    return RadiologistFactory()


def staff_with_app(db):
    return StaffFactory()


def site_account_with_app(db):
    return with_second_factor(SiteFactory(service_account=UserFactory()).service_account)


WITH_A_SECOND_FACTOR = [patient_with_app, radiologist_with_app, staff_with_app, site_account_with_app]


@pytest.mark.parametrize("account", WITH_A_SECOND_FACTOR)
def test_an_account_with_a_second_factor_gets_no_token_from_its_password_alone(db, account):
    user = account(db)

    for extra in ({}, {"code": ""}, {"code": "000000"}, {"code": "not a code"}):
        assert refused_as_wrong_credentials(ask_for_token(user, **extra))
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("account", WITH_A_SECOND_FACTOR)
def test_an_account_with_a_second_factor_gets_a_token_with_its_password_and_code(db, account):
    user = account(db)

    response = ask_for_token(user, code=current_totp_code())

    assert response.status_code == 201
    assert user.api_tokens.count() == 1


def test_a_patient_without_a_second_factor_gets_a_token_from_the_password(db):
    assert ask_for_token(UserFactory()).status_code == 201


def test_a_site_service_account_without_a_second_factor_gets_a_token_from_the_password(db):
    account = SiteFactory(service_account=UserFactory()).service_account

    assert ask_for_token(account).status_code == 201


@pytest.mark.parametrize("make", [RadiologistFactory, StaffFactory])
def test_staff_and_radiologists_without_a_second_factor_get_no_token_even_with_a_code(db, make):
    user = make(second_factor=False)

    response = ask_for_token(user, code="123456")

    assert response.status_code == 400
    assert "set up a second factor first" in response.json()["non_field_errors"][0]
    assert not ApiToken.objects.exists()


def test_a_wrong_password_with_the_right_code_is_answered_as_a_right_password_with_a_wrong_code(db):
    user = patient_with_app(db)

    wrong_password = ask_for_token(user, password="guessed", code=current_totp_code())
    wrong_code = ask_for_token(user, code="000000")
    no_such_account = APIClient().post(
        TOKEN_URL, {"email": "nobody@example.com", "password": "guessed", "code": "000000"}, format="json"
    )

    assert refused_as_wrong_credentials(wrong_password)
    assert wrong_code.json() == wrong_password.json() == no_such_account.json()


def test_a_recovery_code_gets_one_token_and_then_no_more(db):
    user = patient_with_app(db)
    recovery = RecoveryCodes.activate(user)
    code = recovery.generate_codes()[0]

    first, again = ask_for_token(user, code=code), ask_for_token(user, code=code)

    assert first.status_code == 201
    assert refused_as_wrong_credentials(again)
    assert code not in RecoveryCodes(Authenticator.objects.get(pk=recovery.instance.pk)).get_unused_codes()
    assert user.api_tokens.count() == 1


def test_an_authenticator_app_code_gets_one_token_and_is_not_replayed(db):
    user = patient_with_app(db)
    code = current_totp_code()

    assert ask_for_token(user, code=code).status_code == 201
    assert refused_as_wrong_credentials(ask_for_token(user, code=code))


def test_an_account_with_only_a_security_key_needs_an_unused_recovery_code(db):
    user = UserFactory()
    security_key(user)
    code = RecoveryCodes.activate(user).generate_codes()[1]

    assert refused_as_wrong_credentials(ask_for_token(user))
    assert ask_for_token(user, code=code).status_code == 201


def test_recovery_codes_left_without_a_second_factor_do_not_ask_for_a_code(db):
    user = UserFactory()
    RecoveryCodes.activate(user)

    assert ask_for_token(user).status_code == 201


def test_wrong_codes_lock_the_account_out_of_tokens_as_on_the_web(db):
    user = patient_with_app(db)
    for _ in range(5):  # ACCOUNT_RATE_LIMITS: 5 failed attempts in 5 minutes for one account
        ask_for_token(user, code="000000")

    assert refused_as_wrong_credentials(ask_for_token(user, code=current_totp_code()))


def test_the_schema_documents_the_code(client, db):
    schema = client.get(reverse("api:schema"), headers={"Accept": "application/json"}).json()

    credentials = schema["components"]["schemas"]["CredentialsRequest"]["properties"]
    assert "recovery code" in credentials["code"]["description"]
    assert "code" in schema["paths"]["/api/v1/auth/token/"]["post"]["description"]
