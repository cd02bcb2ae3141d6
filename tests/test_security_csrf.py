"""Every form the portal shows is protected against cross-site request forgery.

The forms are found by reading the pages each role sees, not listed by hand: a form added later is
checked too. Each must carry the token, and its target must refuse a post without it.
"""

from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import PredictionFactory, ReviewFactory, StaffFactory, UserFactory, private_media  # noqa: F401
from tests.test_accounts_sessions import verified_user

TOKEN_FIELD = "csrfmiddlewaretoken"


class PostForms(HTMLParser):
    """The post forms of a page: (action, names of the fields it sends)."""

    def __init__(self, page_url):
        super().__init__()
        self.page_url, self.forms = page_url, []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "get").lower() == "post":
            self.forms.append((urljoin(self.page_url, attributes.get("action") or self.page_url), set()))
        elif tag in ("input", "select", "textarea", "button") and self.forms and attributes.get("name"):
            self.forms[-1][1].add(attributes["name"])


@pytest.fixture
def world(db):
    """Every kind of page with a form: a patient's flagged and reviewed X-rays, a radiologist, an admin."""
    review = ReviewFactory()
    flagged = PredictionFactory(scan__owner=review.scan.owner).scan
    admin = StaffFactory(email="admin@example.com", is_superuser=True, role="admin")
    return {"patient": review.scan.owner, "radiologist": review.radiologist, "admin": admin,
            "reviewed": review.scan, "flagged": flagged}  # fmt: skip


PAGES = [
    ("anonymous", "account_login", None),
    ("anonymous", "account_signup", None),
    ("anonymous", "account_reset_password", None),
    ("patient", "scans:upload", None),
    ("patient", "scans:detail", "flagged"),
    ("patient", "scans:delete", "flagged"),
    ("patient", "accounts:preferences", None),
    ("patient", "account_change_password", None),
    ("patient", "account_email", None),
    ("radiologist", "reviews:worklist", None),
    ("radiologist", "reviews:case", "flagged"),
    ("admin", "admin:accounts_user_changelist", None),
    ("admin", "admin:accounts_user_add", None),
    ("admin", "admin:scans_scan_change", "reviewed"),
    ("admin", "admin:password_change", None),
]


def forms_on(client, url) -> list[tuple[str, set[str]]]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    parser = PostForms(url)
    parser.feed(response.content.decode())
    return parser.forms


@pytest.mark.parametrize(("who", "url_name", "scan"), PAGES)
def test_every_form_carries_the_token_and_its_target_refuses_a_post_without_it(world, who, url_name, scan):
    client = Client(enforce_csrf_checks=True)
    if who != "anonymous":
        client.force_login(world[who])
    url = reverse(url_name, args=[world[scan].pk] if scan else [])

    forms = forms_on(client, url)

    assert forms, f"no post form on {url}"
    for action, fields in forms:
        assert TOKEN_FIELD in fields, f"a form posting to {action} on {url} has no CSRF token"
        forged = client.post(action, {name: "1" for name in fields - {TOKEN_FIELD}})
        assert forged.status_code == 403, f"{action} accepted a post without the CSRF token"


def test_the_same_post_with_the_token_goes_through(world):
    """The refusal above is the token's doing: with it, the logout form logs out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["patient"])
    client.get(reverse("accounts:preferences"))  # sets the CSRF cookie

    response = client.post(reverse("account_logout"), {TOKEN_FIELD: client.cookies["csrftoken"].value})

    assert response.status_code == 302
    assert client.get(reverse("scans:history")).status_code == 302


def test_a_forged_login_post_is_refused(db):
    user = verified_user()
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("account_login"), {"login": user.email, "password": "correct horse battery staple"})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
