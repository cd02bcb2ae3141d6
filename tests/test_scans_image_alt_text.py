"""The X-ray and heatmap images say what they are and the reading, for people who cannot see them
(WCAG 1.1.1): on the patient's page and in the radiologist's viewer."""

import re
from html.parser import HTMLParser

import pytest
from django.template.defaultfilters import date
from django.urls import reverse

from reviews.models import Review
from scans.dicom_instances import index_scan
from tests.factories import PredictionFactory, RadiologistFactory, ReviewFactory, private_media  # noqa: F401


class ImageAlts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.alts: dict[str, str] = {}  # the image's address -> its text alternative
        self.viewport_labels: list[str] = []  # the diagnostic viewer's image areas, by their names

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img":
            self.alts[attributes["src"]] = attributes.get("alt")
        if "data-dv-viewport" in attributes:
            self.viewport_labels.append(attributes["aria-label"])


def image_alts(client, user, url: str) -> dict[str, str]:
    client.force_login(user)
    parser = ImageAlts()
    parser.feed(client.get(url).content.decode())
    return parser.alts


def xray_and_heatmap(client, user, scan, page: str) -> tuple[str, str]:
    alts = image_alts(client, user, reverse(page, args=[scan.pk]))
    return alts[reverse("scans:image", args=[scan.pk])], alts[reverse("scans:heatmap", args=[scan.pk])]


def test_the_patients_xray_and_heatmap_state_the_reading(client, db):
    scan = PredictionFactory(probability=0.82).scan

    xray, heatmap = xray_and_heatmap(client, scan.owner, scan, "scans:detail")

    assert (
        xray
        == f"Chest X-ray uploaded {date(scan.created_at, 'j M Y')}, computer reading: pneumonia suspected, 82% chance of pneumonia"
    )
    assert heatmap == (
        "Heatmap over the X-ray of the areas that weighed most in the computer reading: "
        "pneumonia suspected, 82% chance of pneumonia"
    )


def test_an_uncertain_reading_is_called_uncertain(client, db):
    scan = PredictionFactory(uncertain=True).scan

    xray, _ = xray_and_heatmap(client, scan.owner, scan, "scans:detail")

    assert re.search(r"computer reading: uncertain, 31% chance of pneumonia$", xray)


def test_a_reviewed_xray_also_states_the_radiologists_finding(client, db):
    review = ReviewFactory(finding=Review.Finding.NO_PNEUMONIA, prediction__probability=0.64)

    xray, _ = xray_and_heatmap(client, review.scan.owner, review.scan, "scans:detail")

    assert xray.endswith(
        "computer reading: pneumonia suspected, 64% chance of pneumonia, radiologist's finding: no pneumonia"
    )


def test_a_held_reading_is_not_in_the_text_alternative_either(client, settings, db):
    settings.HOLD_AI_RESULTS_UNTIL_REVIEW = True
    scan = PredictionFactory(probability=0.82).scan

    alts = image_alts(client, scan.owner, reverse("scans:detail", args=[scan.pk]))

    assert alts == {reverse("scans:image", args=[scan.pk]): f"Chest X-ray uploaded {date(scan.created_at, 'j M Y')}"}


def test_the_radiologists_viewer_states_the_reading(client, db):
    scan = PredictionFactory(probability=0.91).scan

    xray, heatmap = xray_and_heatmap(client, RadiologistFactory(), scan, "reviews:case")

    assert xray == (
        f"Chest X-ray of case {scan.pk}, uploaded {date(scan.created_at, 'j M Y')}, "
        "computer reading: pneumonia suspected, 91% chance of pneumonia"
    )
    assert heatmap.endswith("computer reading: pneumonia suspected, 91% chance of pneumonia")


@pytest.mark.parametrize("page", ["scans:detail", "reviews:case"])
@pytest.mark.usefixtures("private_media")
def test_the_diagnostic_viewer_names_its_image_as_the_png_it_replaces(client, db, page):
    """The viewer hides the PNG once it has drawn the original, so a screen reader then meets the
    viewer's image area: it must say the same (the reading included), not only "the original X-ray"."""
    scan = PredictionFactory(probability=0.82).scan
    index_scan(scan)
    client.force_login(scan.owner if page == "scans:detail" else RadiologistFactory())
    parser = ImageAlts()

    parser.feed(client.get(reverse(page, args=[scan.pk])).content.decode())

    assert parser.viewport_labels == [parser.alts[reverse("scans:image", args=[scan.pk])]]
    assert parser.viewport_labels[0].endswith("computer reading: pneumonia suspected, 82% chance of pneumonia")
