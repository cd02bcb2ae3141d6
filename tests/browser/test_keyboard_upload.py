"""A parent uploads an X-ray, with whose it is and how the child is, using the keyboard alone (WCAG 2.1.1).
Every page on the way is audited by axe too (tests/browser/axe.py).

No private_media here: the real worker reads the upload from MEDIA_ROOT, where the web process stores it.
"""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from scans.models import Scan
from tests.browser import keyboard
from tests.browser.test_radiologist_worklist import verified
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_parent_uploads_an_xray_with_the_childs_symptoms_using_only_the_keyboard(
    page, live_server, celery_worker_process, xray_path
):
    parent = verified(UserFactory())
    keyboard.log_in(page, parent)

    keyboard.tab_to(page, page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/scans/upload/$"))
    keyboard.tab_to(page, page.get_by_label("Chest X-ray files"))
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")  # opens the system's file dialog, here answered by the test
    chooser.value.set_files(xray_path)
    expect(page.locator("[data-chosen-files]")).to_contain_text(xray_path.name)

    keyboard.type_into(page, page.get_by_label("Their name or a nickname"), "Sam")
    # A date input takes the day and month in the order of the browser's language: the same number for both.
    keyboard.type_into(page, page.get_by_label("Their date of birth"), "05052023")
    keyboard.tab_to(page, page.locator("details.clinical-context > summary"))
    page.keyboard.press("Enter")  # opens "How are they?"
    keyboard.tab_to(page, page.get_by_label("Cough", exact=True))
    page.keyboard.press("Space")
    keyboard.type_into(page, page.get_by_label("Days of illness so far"), "4")
    keyboard.tab_to(page, page.get_by_role("button", name="Upload"))
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/scans/\d+/$"))
    reading = re.compile(r"^Chest X-ray uploaded .+, computer reading: .+, (<1|\d{1,2}|>99)% chance of pneumonia$")
    # The X-ray is named by its reading: the PNG until the diagnostic viewer has drawn the original, then
    # the viewer's image area, which takes over the PNG's name.
    named_xray = page.get_by_role("img", name=reading).or_(page.get_by_role("application", name=reading))
    expect(named_xray).to_be_visible(timeout=60_000)
    scan = Scan.objects.select_related("patient").get(owner=parent)
    assert (scan.patient.name, scan.patient.date_of_birth) == ("Sam", date(2023, 5, 5))
    assert (scan.symptoms, scan.illness_days) == (["cough"], 4)
