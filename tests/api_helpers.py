"""Clients of the REST API for tests, and the fixture that gives each test fresh throttle counts.

Import `fresh_throttles` into an API test module (it is autouse), as with `private_media`.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import ApiToken


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttles count requests in the cache, per user id; ids come round again from test to test."""
    cache.clear()
    yield
    cache.clear()


def token_client(user=None) -> APIClient:
    """A client that sends a fresh API token of `user` (anonymous without one)."""
    client = APIClient()
    if user is not None:
        _, key = ApiToken.issue(user, "test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client
