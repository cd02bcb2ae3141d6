"""A parent with two children, in a real browser, against a real worker: profiles, uploads with
symptoms, the reading arriving where the upload lands, the urgent-care signs, the warning on an
adult's film, and then a radiologist who reviews the urgent case with the family's context in view."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reviews.models import Review
from scans.models import Scan
from tests.browser.test_radiologist_worklist import log_in, log_out, verified
from tests.factories import RadiologistFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def add_profile(page, name: str, born) -> None:
    page.goto("/patients/")
    page.get_by_label("Name or nickname").fill(name)
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_role("button", name="Add").click()
    expect(page.locator("main .patient-list")).to_contain_text(name)


def upload_for(page, xray_file, name: str, symptoms=(), danger_signs=(), days: str = "") -> None:
    page.goto("/scans/upload/")
    page.set_input_files("input[name=files]", xray_file)
    page.get_by_label("Whose X-ray is this?").select_option(label=name)
    page.locator("details.clinical-context summary").click()
    for label in (*symptoms, *danger_signs):
        page.get_by_label(label, exact=True).check()
    if days:
        page.get_by_label("Days of illness so far").fill(days)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/scans/\d+/$"))  # one file: its own page


def test_a_parent_with_two_children_and_a_radiologist_who_reviews_with_the_context(
    page, screenshot, live_server, celery_worker_process, xray_path, tmp_path
):
    parent = verified(UserFactory(email="parent@example.com"))
    radiologist = verified(RadiologistFactory())
    today = timezone.localdate()
    log_in(page, parent)

    add_profile(page, "Mia", today - timedelta(days=3 * 365))
    add_profile(page, "Leo", today - timedelta(days=2 * 365))
    add_profile(page, "Me", today - timedelta(days=40 * 365 + 10))
    screenshot("family-profiles")

    upload_for(page, xray_path, "Mia", symptoms=["Cough", "Fever, sweats or chills"], days="3")
    expect(page.locator(".result .probability")).to_contain_text("estimated chance of pneumonia", timeout=60_000)
    expect(page.locator(".natural-frequency")).to_contain_text(re.compile(r"in (10|100) showed pneumonia"))
    expect(page.get_by_role("heading", name="What happens next")).to_be_visible()

    upload_for(page, xray_path, "Leo", symptoms=["Cough"], danger_signs=["The lower chest pulls in when breathing in"])
    screenshot("family-urgent-care")
    urgent = page.locator(".urgent-care-panel")
    expect(urgent).to_contain_text("Seek medical care now")  # at once, before the reading
    expect(urgent).to_contain_text("WHO Integrated Management of Childhood Illness")
    expect(page.locator(".result .probability")).to_be_visible(timeout=60_000)

    upload_for(page, xray_path, "Me")
    expect(page.locator(".result .population-warning")).to_contain_text(
        "made for children aged one to five; for a 40-year-old it may be wrong", timeout=60_000
    )
    screenshot("family-adult-warning")

    page.goto("/scans/")
    tabs = page.get_by_role("navigation", name="Whose X-rays")
    for name in ("Everyone", "Mia", "Leo", "Me"):
        expect(tabs.get_by_role("link", name=name)).to_be_visible()
    tabs.get_by_role("link", name="Leo").click()
    expect(page.locator("main h1")).to_have_text("Leo's X-rays")
    screenshot("family-history")
    log_out(page)

    leo_scan = Scan.objects.get(patient__name="Leo")
    log_in(page, radiologist)
    page.goto("/reviews/")
    first_row = page.locator("tr.case").first
    expect(first_row).to_have_attribute("data-case", str(leo_scan.pk))  # danger signs first
    expect(first_row).to_contain_text("Leo, 2 years at the X-ray")
    expect(first_row).to_contain_text("Danger signs")
    adult_row = page.locator(f'tr.case[data-case="{Scan.objects.get(patient__name="Me").pk}"]')
    expect(adult_row).to_contain_text("for a 40-year-old it may be wrong")
    screenshot("family-worklist")
    first_row.get_by_role("button", name=re.compile("Claim")).click()
    context = page.locator(".case-context")
    expect(context).to_contain_text("Leo, 2 years at the X-ray")
    expect(context).to_contain_text("The lower chest pulls in when breathing in")
    screenshot("family-review-case")
    page.get_by_label("Pneumonia", exact=True).check()
    page.get_by_label("Note to the patient").fill("Please see your doctor today.")
    page.get_by_role("button", name="Sign the review").click()
    expect(page).to_have_url(re.compile(r"/reviews/$"))
    assert Review.objects.get(scan=leo_scan).radiologist == radiologist
