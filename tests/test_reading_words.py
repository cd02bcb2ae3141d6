"""The reading's band is worded by one property, Prediction.band_words, on every page, alt text and the
PDF that show it: each is asked here for each band."""

from datetime import timedelta

import pytest
from django.urls import reverse

from scans.report import report_story
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ScanFactory,
    ask_for_review,
    private_media,
)
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db
BANDS = {"normal": "No pneumonia detected", "pneumonia": "Pneumonia suspected", "uncertain": "Uncertain"}
TRAITS = {"normal": {"normal": True}, "pneumonia": {}, "uncertain": {"uncertain": True}}


def patients_reading(band):
    reading = PredictionFactory(scan__status="done", **TRAITS[band])
    return reading.scan, reading.scan.owner


def detail_page(client, band):
    scan, owner = patients_reading(band)
    client.force_login(owner)
    return client.get(scan.get_absolute_url()).content.decode()


def history_row(client, band):
    scan, owner = patients_reading(band)
    client.force_login(owner)
    return client.get(reverse("scans:row", args=[scan.pk])).content.decode()


def compare_page(client, band):
    previous, owner = patients_reading(band)
    later = ScanFactory(owner=owner, patient=previous.patient, done=True, created_at=previous.created_at + timedelta(1))
    client.force_login(owner)
    return client.get(reverse("scans:compare", args=[later.pk])).content.decode()


def review_case_page(client, band):
    scan, _ = patients_reading(band)
    if band == "normal":
        ask_for_review(scan)
    client.force_login(RadiologistFactory())
    return client.get(reverse("reviews:case", args=[scan.pk])).content.decode()


def site_studies_page(client, band):
    reader = RadiologistFactory()
    site_reading(**TRAITS[band]).scan.site.readers.add(reader)
    client.force_login(reader)
    return client.get(reverse("hospitals:studies")).content.decode()


def pdf_report(client, band):
    scan, owner = patients_reading(band)
    story = report_story(scan, owner)
    return "\n".join(flowable.getPlainText() for flowable in story if hasattr(flowable, "getPlainText"))


@pytest.mark.parametrize("band", BANDS)
@pytest.mark.parametrize(
    "show, times_in_words, times_in_alt_text",
    [(detail_page, 1, 2), (history_row, 1, 0), (compare_page, 1, 0), (review_case_page, 1, 2),
     (site_studies_page, 1, 0), (pdf_report, 1, 0)],
)  # fmt: skip
def test_every_page_words_the_band_the_same_way(client, show, times_in_words, times_in_alt_text, band):
    shown = show(client, band)
    words = BANDS[band]
    others = [other for name, other in BANDS.items() if name != band]

    assert shown.count(words) >= times_in_words
    assert shown.count(f"computer reading: {words.lower()}") >= times_in_alt_text
    assert not any(f"computer reading: {other.lower()}" in shown for other in others)
