"""The pages at a phone's width, where Pico's type, and the controls with it, are smallest: axe and the
24 px target check (tests/browser/axe.py) audit each, as the other tests do at a desktop's width."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_radiologist_worklist import log_in, verified
from tests.factories import PredictionFactory, RadiologistFactory, UserFactory, private_media  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PHONE = {"width": 375, "height": 812}


def audit_each(page, accessibility, paths) -> None:
    for path in paths:
        page.goto(path)
        accessibility.audit()
    audited = {re.sub(r"^https?://[^/]+", "", url) for url in accessibility.audited}
    assert set(paths) <= audited


def test_a_patients_pages_pass_axe_at_a_phones_width(page, accessibility):
    page.set_viewport_size(PHONE)
    scan = PredictionFactory(probability=0.82, scan__owner=verified(UserFactory())).scan
    log_in(page, scan.owner)

    audit_each(page, accessibility, ["/scans/", f"/scans/{scan.pk}/", "/patients/", "/preferences/"])
    page.goto("/scans/upload/")
    page.locator("details.clinical-context > summary").click()  # its checkboxes, too
    expect(page.get_by_label("Cough", exact=True)).to_be_visible()
    accessibility.audit()


def test_a_radiologists_pages_pass_axe_at_a_phones_width(page, accessibility):
    page.set_viewport_size(PHONE)
    scan = PredictionFactory(probability=0.91).scan
    log_in(page, verified(RadiologistFactory()))

    audit_each(page, accessibility, ["/reviews/", f"/reviews/{scan.pk}/"])
    page.get_by_role("button", name="Claim this case").click()
    expect(page.get_by_role("button", name="Sign the review")).to_be_visible()  # the decision form, audited
