"""A new patient's first visit, in a real browser: sign up, confirm the email, upload, read the result.

The reading comes from a real Celery worker process; the detail page must update by itself (htmx)
once it is ready. Screenshots of each page are kept for docs/screenshots.md (`make screenshots`).
"""

import re
import time

import pytest
from django.core import mail
from playwright.sync_api import expect

from scans.models import Scan

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EMAIL = "new.patient@example.com"
PASSWORD = "correct-horse-battery-staple-42"
CONFIRMATION_LINK = re.compile(r"https?://\S+/accounts/confirm-email/\S+")


def sign_up(page, screenshot):
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot("sign-up")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))


def confirm_email(page):
    (message,) = [message for message in mail.outbox if EMAIL in message.to]
    link = CONFIRMATION_LINK.search(message.body).group(0)
    page.goto(link)
    page.click("main form button[type=submit]")


def test_a_new_patient_signs_up_uploads_an_xray_and_sees_the_reading(
    page, screenshot, live_server, celery_worker_process, xray_bytes, tmp_path, record_timing
):
    page.goto("/")
    screenshot("landing")

    sign_up(page, screenshot)
    confirm_email(page)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto("/scans/upload/")
    upload_file = tmp_path / "chest-xray.jpeg"
    upload_file.write_bytes(xray_bytes)
    page.set_input_files("input[name=files]", upload_file)
    screenshot("upload")
    started = time.monotonic()
    page.click("main form button[type=submit]")
    # One file: the upload lands on the X-ray's own page, where the reading arrives. No reload from
    # here: htmx polls the status and refreshes the page when the reading is in.
    expect(page).to_have_url(re.compile(r"/scans/\d+/$"))
    scan = Scan.objects.get(owner__email=EMAIL)
    probability = page.locator(".result .probability")
    expect(probability).to_have_text(re.compile(r"\d{1,3}% estimated chance of pneumonia"), timeout=60_000)
    record_timing("upload -> result shown in the browser", time.monotonic() - started)

    # The upload's DICOM copy opens in the diagnostic viewer, which takes the plain figure's place once it
    # has drawn the film; the heatmap is shown over it, as it was over the figure.
    expect(page.locator("[data-dicom-viewer]")).to_have_attribute("data-state", "ready")
    heatmap = page.locator("img.dicom-heatmap")
    expect(heatmap).to_be_visible()
    heatmap.evaluate("img => img.decode()")  # rejects unless the PNG arrived and decoded
    assert heatmap.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot("detail")

    page.goto("/scans/")
    expect(page.locator("main")).to_contain_text(scan.original_filename)
    screenshot("history")
