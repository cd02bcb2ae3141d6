"""A model's probability is shown as scans.clinical.percent_words says, never a certain "0%" or
"100%", on every path that shows one: each is asked here with a near-certain reading either way."""

import html
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scans.report import report_story
from tests.factories import (  # noqa: F401
    PatientFactory,
    PredictionFactory,
    RadiologistFactory,
    ScanFactory,
    private_media,
)

pytestmark = pytest.mark.django_db
# probability: (what is shown, what must never be)
NEAR_CERTAIN = {0.999: (">99%", "100%"), 0.001: ("<1%", " 0%")}


def detail_page(client, admin_client, probability):
    scan = PredictionFactory(probability=probability, scan__done=True).scan
    client.force_login(scan.owner)
    return client.get(scan.get_absolute_url()).content.decode()


def worklist(client, admin_client, probability):
    PredictionFactory(probability=probability, uncertain=True)
    client.force_login(RadiologistFactory())
    return client.get(reverse("reviews:worklist")).content.decode()


def trend(client, admin_client, probability):
    child = PatientFactory()
    for days in (2, 1):
        scan = ScanFactory(
            owner=child.owner, patient=child, done=True, created_at=timezone.now() - timedelta(days=days)
        )
        PredictionFactory(scan=scan, probability=probability)
    client.force_login(child.owner)
    page = client.get(child.get_absolute_url()).content.decode()
    return page.split("<svg", 1)[1].split("</svg>", 1)[0].split("</text>")[-1]  # past the axis labels


def admin_scan_list(client, admin_client, probability):
    PredictionFactory(probability=probability, scan__done=True)
    page = admin_client.get(reverse("admin:scans_scan_changelist")).content.decode()
    return page.split('class="field-reading"', 1)[1].split("</td>", 1)[0]


def a_readings_name(client, admin_client, probability):
    return str(PredictionFactory(probability=probability))


def pdf_report(client, admin_client, probability):
    scan = PredictionFactory(probability=probability, scan__done=True).scan
    story = report_story(scan, scan.owner)
    return "\n".join(flowable.getPlainText() for flowable in story if hasattr(flowable, "getPlainText"))


@pytest.mark.parametrize("probability", NEAR_CERTAIN)
@pytest.mark.parametrize("show", [detail_page, worklist, trend, admin_scan_list, a_readings_name, pdf_report])
def test_a_near_certain_reading_is_never_shown_as_certain(client, admin_client, show, probability):
    shown = html.unescape(show(client, admin_client, probability))
    words, never = NEAR_CERTAIN[probability]

    assert words in shown
    assert never not in shown
