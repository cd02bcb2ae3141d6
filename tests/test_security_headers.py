"""Every response carries the security headers, error pages and the admin included, and no page holds
code the Content-Security-Policy would have to allow: no inline script, style attribute or on* handler.

Production's HSTS and cookie flags are read from a process started with the production environment.
"""

import json
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import path, reverse

from portal.urls import urlpatterns as portal_urlpatterns
from tests.factories import ReviewFactory, StaffFactory, UserFactory, private_media  # noqa: F401
from tests.test_accounts_sessions import log_in, verified_user
from tests.test_deployment import production_environment, run_python


def server_error(request):
    raise RuntimeError("a bug in a view")


# This module is also the URLconf of the error-page tests: the portal's URLs plus one that fails.
urlpatterns = [*portal_urlpatterns, path("boom/", server_error)]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def assert_security_headers(response):
    csp = csp_directives(response)
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.fixture
def world(db):
    """A patient with a reviewed X-ray, the radiologist who reviewed it, and an admin."""
    review = ReviewFactory()
    admin = StaffFactory(email="admin@example.com", is_superuser=True, role="admin")
    return {"patient": review.scan.owner, "radiologist": review.radiologist, "admin": admin, "scan": review.scan}


PAGES = [
    # who, URL name, the scan's pk as argument or not
    ("anonymous", "home", False),
    ("anonymous", "about_model", False),
    ("anonymous", "account_login", False),
    ("anonymous", "account_signup", False),
    ("anonymous", "account_reset_password", False),
    ("patient", "scans:history", False),
    ("patient", "scans:upload", False),
    ("patient", "scans:detail", True),
    ("patient", "scans:compare", True),
    ("patient", "scans:delete", True),
    ("patient", "scans:image", True),
    ("patient", "scans:heatmap", True),
    ("patient", "accounts:preferences", False),
    ("radiologist", "reviews:worklist", False),
    ("radiologist", "reviews:case", True),
    ("admin", "staff:monitoring", False),
    ("admin", "admin:index", False),
    ("admin", "admin:accounts_user_changelist", False),
    ("admin", "admin:scans_scan_changelist", False),
    ("admin", "admin:scans_scan_change", True),
    ("admin", "admin:reviews_review_changelist", False),
]


def get_page(client, world, who, url_name, with_scan):
    if who != "anonymous":
        client.force_login(world[who])
    response = client.get(reverse(url_name, args=[world["scan"].pk] if with_scan else []))
    assert response.status_code == 200, (url_name, response.status_code)
    return response


@pytest.mark.parametrize(("who", "url_name", "with_scan"), PAGES)
def test_every_page_carries_the_security_headers(client, world, who, url_name, with_scan):
    assert_security_headers(get_page(client, world, who, url_name, with_scan))


class InlineCode(HTMLParser):
    """Collects what a strict CSP blocks: inline <script> and <style>, style="" and on*="" attributes."""

    def __init__(self):
        super().__init__()
        self.found, self._open_script = [], None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self._open_script = ""
        if tag == "style":
            self.found.append("<style>")
        self.found += [f'<{tag} {name}="...">' for name in attributes if name == "style" or name.startswith("on")]

    def handle_data(self, data):
        if self._open_script is not None:
            self._open_script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._open_script is not None:
            if self._open_script.strip():
                self.found.append(f"<script>{self._open_script.strip()[:60]}</script>")
            self._open_script = None


@pytest.mark.parametrize(("who", "url_name", "with_scan"), [page for page in PAGES if "image" not in page[1]])
def test_no_page_holds_inline_code_the_policy_would_block(client, world, who, url_name, with_scan):
    response = get_page(client, world, who, url_name, with_scan)
    if "heatmap" in url_name:
        assert response["Content-Type"] == "image/png"
        return
    parser = InlineCode()
    parser.feed(response.content.decode())

    assert parser.found == []


def test_the_inline_code_finder_finds_inline_code():
    parser = InlineCode()
    parser.feed('<p style="color:red" onclick="x()">a</p><script>alert(1)</script><script src="/s.js"></script>')

    assert parser.found == ['<p style="...">', '<p onclick="...">', "<script>alert(1)</script>"]


@pytest.mark.urls("tests.test_security_headers")
@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/no-such-page/", 404),
        ("/boom/", 500),
        ("/admin/no-such-page/", 302),  # the admin sends the anonymous to log in first
    ],
)
def test_error_pages_carry_the_security_headers_and_no_inline_code(db, url, status):
    response = Client(raise_request_exception=False).get(url)

    assert response.status_code == status
    assert_security_headers(response)
    parser = InlineCode()
    parser.feed(response.content.decode())
    assert parser.found == []


def test_a_refused_csrf_post_carries_the_security_headers(db):
    response = Client(enforce_csrf_checks=True).post(reverse("account_login"), {"login": "a@example.com"})

    assert response.status_code == 403
    assert_security_headers(response)


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, db):
    client.get(reverse("account_login"))
    log_in(client, verified_user())

    for name in ("sessionid", "csrftoken"):
        cookie = client.cookies[name]
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
# The hashed-name manifest comes from the image build's collectstatic; the headers do not depend on it.
settings.STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
client = Client(HTTP_HOST="screening.example.org")
page = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
cookie = page.cookies["csrftoken"]
print(json.dumps({
    "status": page.status_code,
    "hsts": page.get("Strict-Transport-Security"),
    "csp": page.get("Content-Security-Policy"),
    "plain_http": [plain.status_code, plain.get("Location")],
    "csrf_cookie": [bool(cookie["secure"]), bool(cookie["httponly"]), cookie["samesite"]],
    "session_cookie": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY,
                       settings.SESSION_COOKIE_SAMESITE],
    "storage": settings.STORAGES["default"]["OPTIONS"],
    "media_url": settings.MEDIA_URL,
}, default=str))
"""


@pytest.fixture(scope="module")
def production():
    """What a production process answers and is configured with (no database is reached)."""
    result = run_python("-c", PRODUCTION_PROBE, environment=production_environment())
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_sends_hsts_for_a_year_with_subdomains(production):
    assert production["status"] == 200
    assert production["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert "default-src 'self'" in production["csp"]


def test_production_redirects_plain_http_to_https(production):
    assert production["plain_http"] == [301, "https://screening.example.org/accounts/login/"]


def test_production_cookies_are_secure_http_only_and_same_site(production):
    assert production["csrf_cookie"] == [True, True, "Lax"]
    assert production["session_cookie"] == [True, True, "Lax"]


def test_production_files_are_in_a_private_bucket_behind_short_lived_urls(production):
    storage = production["storage"]
    assert storage["bucket_name"] == "scans"
    assert storage["default_acl"] == "private"
    assert storage["querystring_auth"] is True
    assert storage["querystring_expire"] <= 300
    assert production["media_url"] in ("", "/")
