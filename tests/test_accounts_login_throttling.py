"""Password guessing is throttled per client address and locks the account out for a while, and the
address is the one the portal's own proxies saw: a client cannot pick a new one per guess.

The limits are settings.ACCOUNT_RATE_LIMITS["login_failed"]: 10 failures a minute from one address,
5 in 5 minutes for one account.
"""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.test_accounts_sessions import verified_user

LOCKED_OUT = "Too many failed login attempts"
ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 10


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def attempt(email, password, *, address="203.0.113.7", forwarded_for=None, client=None):
    headers = {"REMOTE_ADDR": address}
    if forwarded_for:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return (client or Client()).post(reverse("account_login"), {"login": email, "password": password}, **headers)


def locked_out(response) -> bool:
    return LOCKED_OUT in response.content.decode()


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def test_the_limits_are_the_documented_ones(settings):
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == f"{ADDRESS_LIMIT}/m/ip,{ACCOUNT_LIMIT}/5m/key"


def test_an_account_is_locked_after_five_wrong_passwords_even_against_the_right_one(db):
    user = verified_user()
    for guess in range(ACCOUNT_LIMIT):
        assert not locked_out(attempt(user.email, f"wrong-guess-{guess}", address=f"198.51.100.{guess}"))

    response = attempt(user.email, PASSWORD, address="198.51.100.99")

    assert not logged_in(response)
    assert locked_out(response)


def test_the_right_password_before_the_limit_logs_in(db):
    user = verified_user()
    for guess in range(ACCOUNT_LIMIT - 1):
        attempt(user.email, f"wrong-guess-{guess}")

    assert logged_in(attempt(user.email, PASSWORD))


def test_one_address_guessing_many_accounts_is_throttled_and_others_are_not(db):
    victims = [UserFactory() for _ in range(ADDRESS_LIMIT)]
    for victim in victims:
        attempt(victim.email, "wrong-guess", address="203.0.113.7")
    user = verified_user()

    assert locked_out(attempt(user.email, PASSWORD, address="203.0.113.7"))
    assert logged_in(attempt(user.email, PASSWORD, address="192.0.2.1"))


@pytest.fixture
def behind_one_proxy(settings):
    """The deployment's TLS proxy appends the address it saw to X-Forwarded-For; Django sees the proxy."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    return "10.0.0.2"  # the proxy


def test_behind_the_proxy_the_throttle_keys_on_the_client_not_the_proxy(db, behind_one_proxy):
    victims = [UserFactory() for _ in range(ADDRESS_LIMIT)]
    for victim in victims:
        attempt(victim.email, "wrong-guess", address=behind_one_proxy, forwarded_for="203.0.113.7")
    user = verified_user()

    assert locked_out(attempt(user.email, PASSWORD, address=behind_one_proxy, forwarded_for="203.0.113.7"))
    assert logged_in(attempt(user.email, PASSWORD, address=behind_one_proxy, forwarded_for="192.0.2.1"))


def test_a_client_cannot_dodge_the_throttle_with_its_own_forwarded_for(db, behind_one_proxy):
    """The proxy appends the real address after whatever the client sent: only the last entry counts."""
    victims = [UserFactory() for _ in range(ADDRESS_LIMIT)]
    for number, victim in enumerate(victims):
        attempt(victim.email, "wrong-guess", address=behind_one_proxy, forwarded_for=f"192.0.2.{number}, 203.0.113.7")
    user = verified_user()

    response = attempt(user.email, PASSWORD, address=behind_one_proxy, forwarded_for="192.0.2.200, 203.0.113.7")

    assert locked_out(response)


def test_without_a_trusted_proxy_a_forwarded_for_header_is_ignored(db):
    victims = [UserFactory() for _ in range(ADDRESS_LIMIT)]
    for number, victim in enumerate(victims):
        attempt(victim.email, "wrong-guess", address="203.0.113.7", forwarded_for=f"192.0.2.{number}")
    user = verified_user()

    assert locked_out(attempt(user.email, PASSWORD, address="203.0.113.7", forwarded_for="192.0.2.200"))


def test_the_admin_login_goes_through_the_throttled_login(client, db):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_a_locked_out_staff_member_cannot_reach_the_admin_either(db):
    admin = verified_user()
    admin.is_staff = admin.is_superuser = True
    admin.save()
    for guess in range(ACCOUNT_LIMIT):
        attempt(admin.email, f"wrong-guess-{guess}")

    client = Client()
    attempt(admin.email, PASSWORD, client=client)

    assert client.get(reverse("admin:index")).status_code == 302
