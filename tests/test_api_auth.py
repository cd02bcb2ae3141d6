"""API tokens: made from an email and password or on the account page, stored hashed, revocable, throttled."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import PASSWORD, UserFactory, private_media  # noqa: F401

TOKEN_URL = reverse("api:token")
SCANS_URL = reverse("api:scans")
TOKENS_PAGE = reverse("accounts:api_tokens")


@pytest.fixture
def patient(db):
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def ask_for_token(email, password, **extra):
    return APIClient().post(TOKEN_URL, {"email": email, "password": password, **extra}, format="json")


def test_an_email_and_password_get_a_token_that_opens_the_api(patient):
    response = ask_for_token(patient.email, PASSWORD, name="my script")

    assert response.status_code == 201
    key = response.json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(SCANS_URL).status_code == 200
    assert patient.api_tokens.get().name == "my script"


def test_the_token_is_stored_only_as_a_hash(patient):
    key = ask_for_token(patient.email, PASSWORD).json()["token"]

    token = ApiToken.objects.get()
    assert key not in (token.key_hash, token.name) and len(token.key_hash) == 64
    assert token.prefix == key[:8]


def test_the_email_is_matched_whatever_its_case(patient):
    assert ask_for_token(patient.email.upper(), PASSWORD).status_code == 201


@pytest.mark.parametrize("password", ["wrong password", ""])
def test_a_wrong_password_gets_no_token(patient, password):
    response = ask_for_token(patient.email, password)

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_an_unconfirmed_email_address_gets_no_token(db, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    user = UserFactory()

    response = ask_for_token(user.email, PASSWORD)

    assert response.status_code == 400
    assert "Confirm your email address" in response.json()["non_field_errors"][0]


def test_a_deactivated_user_gets_no_token_and_their_tokens_stop_working(patient):
    api = token_client(patient)
    patient.is_active = False
    patient.save()

    assert ask_for_token(patient.email, PASSWORD).status_code == 400
    assert api.get(SCANS_URL).status_code == 401


@pytest.mark.parametrize("header", ["", "Token", "Token not-a-real-token", "Bearer abc"])
def test_requests_without_a_valid_token_are_unauthorised(db, header):
    api = APIClient()
    if header:
        api.credentials(HTTP_AUTHORIZATION=header)

    response = api.get(SCANS_URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_web_session_does_not_open_the_api(client, patient):
    client.force_login(patient)

    assert client.get(SCANS_URL).status_code == 401


def test_using_a_token_records_when_it_was_last_used(patient):
    api = token_client(patient)

    api.get(SCANS_URL)

    assert patient.api_tokens.get().last_used_at is not None


def test_token_requests_are_throttled_per_address(patient, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "token", "2/minute")

    statuses = [ask_for_token(patient.email, "wrong password").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_api_requests_are_throttled_per_user(patient, monkeypatch):
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "user", "2/minute")
    api, other = token_client(patient), token_client(UserFactory())

    statuses = [api.get(SCANS_URL).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert other.get(SCANS_URL).status_code == 200


def ask_on_the_api(client, user):
    response = ask_for_token(user.email, PASSWORD)
    return response.status_code == 201, str(response.json())


def ask_on_the_account_page(client, user):
    client.force_login(user)
    response = client.post(TOKENS_PAGE, {"name": "one more"})
    return 'class="token-key"' in response.content.decode(), response.content.decode()


@pytest.mark.parametrize("ask", [ask_on_the_api, ask_on_the_account_page])
def test_a_user_cannot_hold_more_than_the_maximum_of_tokens_on_either_path(client, patient, ask):
    for _ in range(ApiToken.MAX_PER_USER - 1):
        ApiToken.issue(patient, "old")

    made, _ = ask(client, patient)
    refused, said = ask(client, patient)

    assert made and not refused
    assert patient.api_tokens.count() == ApiToken.MAX_PER_USER
    assert f"You have {ApiToken.MAX_PER_USER} API tokens already; revoke one" in said


# --- The account page ------------------------------------------------------------------------------


def test_the_account_page_makes_a_token_and_shows_it_once(client, patient):
    client.force_login(patient)

    response = client.post(TOKENS_PAGE, {"name": "lab scanner"})

    token = patient.api_tokens.get()
    page = response.content.decode()
    key = page.split('<code class="token-key">')[1].split("</code>")[0]
    assert token.prefix == key[:8] and token.name == "lab scanner"
    assert response["Cache-Control"] == "private, no-store"
    assert key not in client.get(TOKENS_PAGE).content.decode()
    assert token.prefix in client.get(TOKENS_PAGE).content.decode()


def test_a_revoked_token_stops_working_at_once(client, patient):
    token, key = ApiToken.issue(patient, "old script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.force_login(patient)

    response = client.post(reverse("accounts:revoke_api_token", args=[token.pk]))

    assert response.status_code == 302
    assert api.get(SCANS_URL).status_code == 401


def test_nobody_can_revoke_another_users_token(client, patient):
    token, _ = ApiToken.issue(UserFactory(), "theirs")
    client.force_login(patient)

    assert client.post(reverse("accounts:revoke_api_token", args=[token.pk])).status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_account_page_lists_only_the_users_own_tokens(client, patient):
    ApiToken.issue(UserFactory(), "someone else's script")
    ApiToken.issue(patient, "my script")
    client.force_login(patient)

    page = client.get(TOKENS_PAGE).content.decode()

    assert "my script" in page and "someone else" not in page


def test_an_expired_token_is_refused_and_the_tokens_page_says_so(client, db):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from accounts.models import ApiToken
    from tests.factories import UserFactory

    user = UserFactory()
    token, key = ApiToken.issue(user, "old script")
    assert token.expires_at > timezone.now() + timedelta(days=89)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = client.get(reverse("api:scans"), headers={"Authorization": f"Token {key}"})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    client.force_login(user)
    assert "<strong>expired</strong>" in client.get(reverse("accounts:api_tokens")).content.decode()
