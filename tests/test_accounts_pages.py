"""Allauth's account pages wear the site's layout, and logging out is a POST from the navigation."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.parametrize("url_name", ["account_login", "account_signup", "account_reset_password"])
def test_account_pages_use_the_site_layout(client, db, url_name):
    page = client.get(reverse(url_name)).content.decode()

    assert "vendor/pico/pico.min.css" in page
    assert 'class="brand"' in page
    assert reverse("about_model") in page


def test_a_logged_in_user_logs_out_with_a_post_form(client, db):
    client.force_login(UserFactory())

    page = client.get(reverse("accounts:preferences")).content.decode()

    assert f'<form method="post" action="{reverse("account_logout")}"' in page
    assert "Log out" in page
