"""A site's radiologist in a real browser: the site studies page finds a study the hospital sent by its
accession number, and its page shows the site's identifiers and links the SR and FHIR files; every page
passes the accessibility audit."""

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from tests.browser.test_radiologist_worklist import log_in
from tests.factories import RadiologistFactory, private_media  # noqa: F401
from tests.hospitals.factories import site_reading

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_site_reader_finds_a_study_by_accession_and_opens_it(page, screenshot, live_server):
    reader = RadiologistFactory()
    EmailAddress.objects.create(user=reader, email=reader.email, verified=True, primary=True)
    cleared = site_reading(normal=True).scan  # not on the worklist: found here only
    cleared.site.readers.add(reader)
    site_reading(site=cleared.site)
    accession = cleared.dicom_origin.accession_number

    log_in(page, reader)
    page.get_by_role("link", name="Site studies").click()
    page.get_by_label("Accession number").fill(accession)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and the one study
    screenshot("site-studies")
    page.get_by_role("link", name=f"View study {accession}").click()

    expect(page.get_by_role("heading", name=f"From {cleared.site.name}")).to_be_visible()
    expect(page.get_by_text(cleared.dicom_origin.patient_id)).to_be_visible()
    expect(page.get_by_role("link", name="The reading as DICOM SR")).to_be_visible()
    screenshot("site-study")
