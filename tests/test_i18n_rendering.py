"""Pages and the PDF in another language: numbers the browser must parse stay plain, dates follow the
locale, and Chinese text is set in a font that has its characters."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from scans.report import UNICODE_FONT, render_report
from tests.factories import PatientFactory, PredictionFactory, ReviewFactory, ScanFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def i18n_on(settings):
    """Translation switched on, whatever the settings say: Django picks its translation functions once, on
    first use, so they are forgotten before and after (django.utils.translation.Trans)."""
    settings.USE_I18N = True
    translation._trans.__dict__.clear()
    yield
    translation._trans.__dict__.clear()


def test_the_trend_chart_keeps_plain_numbers_but_french_dates(client, i18n_on):
    child = PatientFactory()
    first = timezone.now() - timedelta(days=40)
    for uploaded, probability in ((first, 0.305), (timezone.now(), 0.725)):
        scan = ScanFactory(owner=child.owner, patient=child, done=True, created_at=uploaded)
        PredictionFactory(scan=scan, probability=probability)
    client.force_login(child.owner)

    page = client.get(child.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr").content.decode()  # LocaleMiddleware's pick
    with translation.override("fr"):
        french_date = date_format(timezone.localtime(first), "DATE_FORMAT")
    with translation.override("en-gb"):
        english_date = date_format(timezone.localtime(first), "DATE_FORMAT")

    chart = page.split("<svg", 1)[1].split("</svg>", 1)[0]
    coordinates = [attribute.split('"', 1)[0] for attribute in chart.split(' cx="')[1:] + chart.split(' y="')[1:]]
    assert coordinates and all(float(value) >= 0 for value in coordinates)  # "40,5" would not parse
    assert french_date in chart and french_date != english_date


def test_the_report_in_chinese_is_set_in_the_unicode_font_it_embeds(i18n_on):
    review = ReviewFactory(patient_note="双肺未见明显异常。")

    with translation.override("zh-hans"):
        pdf = render_report(review.scan, review.scan.owner)

    assert b"+" + UNICODE_FONT.encode() in pdf  # a subset's name: ABCDEF+WenQuanYiMicroHei
