"""The audit every browser test runs (tests/browser/axe.py) fails what it should, and allows only what
ALLOWED names: a check that cannot fail checks nothing."""

import pytest

from tests.browser.axe import AccessibilityWatch, violations_in

BROKEN = '<img src="/static/favicon.svg"><div><a href="#nowhere">x</a></div>'


@pytest.mark.browser
def test_the_audit_finds_an_image_without_alt_text_and_a_target_under_24_px(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        accessibility = AccessibilityWatch(page)
        page.goto("/accounts/login/")
        page.evaluate("html => document.querySelector('main').insertAdjacentHTML('beforeend', html)", BROKEN)
        page.get_by_label("Email").click()  # the first action on the page: the audit runs before it

        found = {violation.rule: violation.targets for violation in accessibility.violations}
    finally:
        context.close()
    assert found.keys() == {"image-alt", "target-size-24px"}
    assert found["image-alt"] == ("img",)
    (small,) = found["target-size-24px"]
    assert small.startswith("#main > div > a (")  # then its size: the font's width of "x"


def test_an_allowed_violation_is_left_out_only_at_its_element_on_its_pages():
    label = {"id": "label", "impact": "critical", "help": "Form elements must have labels"}
    nodes = [{"target": ["#id_dicom_file"]}, {"target": ["#id_status_reason"]}]

    on_scan_form = violations_in("http://localhost/admin/scans/scan/3/change/", [{**label, "nodes": nodes}])
    elsewhere = violations_in("http://localhost/admin/reviews/review/3/change/", [{**label, "nodes": nodes}])

    assert [violation.targets for violation in on_scan_form] == [("#id_status_reason",)]
    assert [violation.targets for violation in elsewhere] == [("#id_dicom_file", "#id_status_reason")]
