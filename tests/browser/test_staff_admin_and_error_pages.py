"""The pages the other journeys never reach, visited so that axe audits them too (tests/browser/axe.py):
staff monitoring, Django's admin, and the error pages anyone may land on."""

import re

import pytest
from playwright.sync_api import expect

from reviews.models import Review
from tests.browser.test_radiologist_worklist import PATIENT_NOTE, log_in, verified
from tests.factories import PredictionFactory, ReviewFactory, StaffFactory, private_media  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_staff_monitoring_and_the_admin_pass_axe(page, accessibility, live_server):
    ReviewFactory(patient_note=PATIENT_NOTE)
    ReviewFactory(finding=Review.Finding.NO_PNEUMONIA, prediction__normal=True)
    waiting = PredictionFactory(probability=0.64).scan
    log_in(page, verified(StaffFactory(is_superuser=True)))  # the admin: every model, and monitoring

    page.get_by_role("link", name="Monitoring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The model against radiologists")
    expect(page.locator("[data-cell=true_positive]")).to_have_text("1")

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.locator("tr.model-scan").get_by_role("link", name="Scans").click()
    expect(page).to_have_url(re.compile(r"/admin/scans/scan/$"))
    page.get_by_role("row").filter(has_text=waiting.original_filename).get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(rf"/admin/scans/scan/{waiting.pk}/change/$"))
    page.goto("/admin/")
    page.locator("tr.model-reviewcase").get_by_role("link", name="Review cases").click()
    expect(page.get_by_role("link", name=f"Scan {waiting.pk}")).to_be_visible()

    audited = {re.sub(r"^https?://[^/]+", "", url) for url in accessibility.audited}
    assert {
        "/staff/monitoring/",
        "/admin/",
        "/admin/scans/scan/",
        f"/admin/scans/scan/{waiting.pk}/change/",
        "/admin/reviews/reviewcase/",
    } <= audited


def test_the_not_found_page_passes_axe(page):
    page.goto("/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_the_csrf_failure_page_passes_axe(page):
    """A login form left open until its cookies are gone, then sent: the page that refuses it."""
    page.goto("/accounts/login/")
    page.context.clear_cookies()
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_label("Password").fill("whatever it was")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("That form could not be accepted")
