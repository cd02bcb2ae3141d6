"""A radiologist works a case in a real browser: log in, claim it from the worklist, read it in the
viewer, sign a review; then the patient reads "reviewed by a radiologist", and the audit log has it all."""

import re
import time

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from accounts.mfa import must_use_mfa
from audit.models import AuditEvent
from inference.heatmaps import render_heatmap_png
from ml.predictor import Predictor
from ml.preprocessing import decode, encode_png
from reviews.models import Review
from tests.factories import (  # noqa: F401
    PASSWORD,
    PredictionFactory,
    RadiologistFactory,
    UserFactory,
    current_totp_code,
    private_media,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PATIENT_NOTE = "The X-ray shows a pneumonia. Please see your doctor today."
INTERNAL_NOTE = "Right lower lobe consolidation, no effusion."


def verified(user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def log_in(page, user):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")
    if must_use_mfa(user):  # the second step: the code from the authenticator app
        page.wait_for_url("**/accounts/2fa/authenticate/")
        page.fill("input[name=code]", current_totp_code())
        page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def wait_for_email(worker, to: str, subject: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (f"To: {to}" in (log := worker.log_tail()) and subject in log):
        assert time.monotonic() < deadline, f"no email {subject!r} to {to} in the worker's log:\n{log[-3000:]}"
        time.sleep(0.5)


def log_out(page):
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def real_xray_and_heatmap(xray_bytes) -> tuple[bytes, bytes, int]:
    """The stored PNG and the heatmap overlay the worker would write, so the screenshots show a real case."""
    decoded = decode(xray_bytes)
    width, height = decoded.size
    heatmap = render_heatmap_png(Predictor.load().predict(xray_bytes).heatmap, width, height)
    return encode_png(decoded), heatmap, width


def test_a_radiologist_claims_and_reviews_a_case_and_the_patient_reads_it(
    page, screenshot, live_server, xray_bytes, celery_worker_process
):
    patient = verified(UserFactory())
    radiologist = verified(RadiologistFactory())
    image_png, heatmap_png, width = real_xray_and_heatmap(xray_bytes)
    prediction = PredictionFactory(
        scan__owner=patient,
        scan__image__data=image_png,
        scan__width=width,
        scan__height=width,
        heatmap__data=heatmap_png,
        probability=0.91,
    )
    scan = prediction.scan

    log_in(page, radiologist)
    page.get_by_role("link", name="Worklist").click()
    row = page.locator(f'tr[data-case="{scan.pk}"]')
    expect(row).to_contain_text("91%")
    expect(row).to_contain_text("Pneumonia suspected")
    screenshot("worklist")
    row.get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(rf"/reviews/{scan.pk}/$"))

    image = page.locator("[data-viewer-image]")
    image.evaluate("img => img.decode()")  # rejects unless the PNG arrived and decoded
    assert image.evaluate("img => img.naturalWidth") == width
    page.get_by_label("Invert").check()
    expect(image).to_have_css("filter", re.compile(r"invert\(1\)"))
    page.get_by_label("Heatmap", exact=True).check()
    expect(page.locator("[data-viewer-heatmap]")).to_be_visible()
    screenshot("review-case")

    page.get_by_label("Pneumonia", exact=True).check()
    page.get_by_label("Note to the patient").fill(PATIENT_NOTE)
    page.get_by_label("Internal note").fill(INTERNAL_NOTE)
    page.get_by_role("button", name="Sign the review").click()
    expect(page).to_have_url(re.compile(r"/reviews/$"))
    expect(page.locator(".messages")).to_contain_text(f"Review of case {scan.pk} signed")
    expect(page.locator(f'tr[data-case="{scan.pk}"]')).to_have_count(0)
    log_out(page)

    log_in(page, patient)
    page.goto(f"/scans/{scan.pk}/")
    review_section = page.locator(".radiologist-review")
    expect(review_section).to_contain_text("Reviewed by a radiologist")
    expect(review_section).to_contain_text("Pneumonia")
    expect(review_section).to_contain_text(PATIENT_NOTE)
    expect(page.locator("main")).not_to_contain_text(INTERNAL_NOTE)
    expect(page.locator(".result .probability")).to_contain_text("91%")  # the model's reading, shown apart
    screenshot("patient-reviewed")

    review = Review.objects.get(scan=scan)
    assert (review.radiologist, review.finding, review.agrees_with_ai) == (radiologist, "pneumonia", True)
    # The review email is a task: the real worker sends it (its console mailer prints it to its log).
    wait_for_email(celery_worker_process, patient.email, "A radiologist has reviewed your X-ray")
    events = AuditEvent.objects.filter(scan_id=scan.pk)
    by_radiologist = set(events.filter(actor=radiologist).values_list("action", "object_type"))
    assert {("claimed", "scan"), ("viewed", "scan"), ("downloaded", "scan"), ("reviewed", "review")} <= by_radiologist
    assert ("downloaded", "prediction") in by_radiologist  # the heatmap overlay
    assert events.filter(actor=patient, action="viewed").exists()
    assert all(event.ip_address == "127.0.0.1" and "Chrome" in event.user_agent for event in events)
