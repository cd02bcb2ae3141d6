"""A radiologist claims a case from the worklist, looks at the X-ray and signs a review, using the keyboard
alone (WCAG 2.1.1). Every page on the way is audited by axe too (tests/browser/axe.py)."""

import re

import pytest
from playwright.sync_api import expect

from reviews.models import Review
from tests.browser import keyboard
from tests.browser.test_radiologist_worklist import verified
from tests.factories import PredictionFactory, RadiologistFactory, private_media  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PATIENT_NOTE = "No pneumonia on this film. If the cough lasts another week, see your doctor."
INTERNAL_NOTE = "Clear lungs; the model's call looks driven by the overlying soft tissue."


def test_a_radiologist_claims_a_case_and_signs_its_review_using_only_the_keyboard(page, live_server):
    radiologist = verified(RadiologistFactory())
    scan = PredictionFactory(probability=0.91).scan
    keyboard.log_in(page, radiologist)

    keyboard.tab_to(page, page.get_by_role("link", name="Worklist"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/reviews/$"))
    keyboard.tab_to(page, page.get_by_role("button", name=f"Claim case {scan.pk}"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/reviews/{scan.pk}/$"))
    expect(page.get_by_role("img", name=re.compile(r"computer reading: pneumonia suspected, 91%"))).to_be_visible()

    viewport = page.get_by_label(re.compile(r"^X-ray: drag or use the arrow keys"))
    stage = page.locator("[data-viewer-stage]")
    as_uploaded = stage.evaluate("element => getComputedStyle(element).transform")
    keyboard.tab_to(page, viewport)
    page.keyboard.press("+")  # zoom in, then look around with the arrow keys
    page.keyboard.press("ArrowLeft")
    expect(stage).not_to_have_css("transform", as_uploaded)

    keyboard.tab_to(page, page.get_by_label("Pneumonia", exact=True))  # the first finding of the group
    page.keyboard.press("ArrowDown")  # moves to, and picks, "No pneumonia"
    expect(page.get_by_label("No pneumonia", exact=True)).to_be_checked()
    keyboard.type_into(page, page.get_by_label("Note to the patient"), PATIENT_NOTE)
    keyboard.type_into(page, page.get_by_label("Internal note"), INTERNAL_NOTE)
    keyboard.tab_to(page, page.get_by_role("button", name="Sign the review"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/reviews/$"))
    expect(page.locator(".messages")).to_contain_text(f"Review of case {scan.pk} signed")
    review = Review.objects.get(scan=scan)
    assert (review.radiologist, review.finding, review.agrees_with_ai) == (radiologist, "no_pneumonia", False)
    assert (review.patient_note, review.internal_note) == (PATIENT_NOTE, INTERNAL_NOTE)
