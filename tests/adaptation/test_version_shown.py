"""A reading by an adapted head names it wherever the reading is shown: page, PDF, SR, FHIR and API."""

import pytest
from django.urls import reverse
from pydicom.sr.codedict import codes
from rest_framework.test import APIClient

from hospitals.scan_results import diagnostic_report_of, result_source, structured_report_of
from scans.report import report_story
from tests.factories import PredictionFactory, private_media  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db
ADAPTED = "pneumonia-cnn-2+6e3377259c24+site-3.2"


@pytest.fixture
def prediction():
    return PredictionFactory(model_version=ADAPTED)


def test_the_scan_page_names_the_adapted_version(client, prediction):
    client.force_login(prediction.scan.owner)
    page = client.get(reverse("scans:detail", args=[prediction.scan.pk])).content.decode()

    assert f"<code>{ADAPTED}</code>" in page


def test_the_pdf_names_it(prediction):
    story = report_story(prediction.scan, prediction.scan.owner)
    text = "\n".join(flowable.getPlainText() for flowable in story if hasattr(flowable, "getPlainText"))

    assert f"Model version {ADAPTED}" in text


def test_the_structured_report_and_fhir_name_it(prediction):
    source = result_source(prediction.scan, prediction)
    report = structured_report_of(source)
    fhir = diagnostic_report_of(source, scan_url="https://portal.example/scans/1/")

    assert report.SoftwareVersions == ADAPTED
    assert ADAPTED in str(report) and codes.DCM.AlgorithmVersion.value in str(report)
    assert ADAPTED in str(fhir)


def test_the_api_names_it(prediction):
    api = APIClient()
    api.force_authenticate(prediction.scan.owner)

    body = api.get(reverse("api:scan", args=[prediction.scan.pk])).json()

    assert body["prediction"]["model_version"] == ADAPTED


def test_the_scan_page_states_the_uncertain_range_of_the_head_that_read_it(client):
    prediction = PredictionFactory(
        model_version=ADAPTED, probability=0.3, label="normal", indeterminate=True, review_from=0.12, threshold=0.64
    )
    client.force_login(prediction.scan.owner)
    page = client.get(reverse("scans:detail", args=[prediction.scan.pk])).content.decode()

    assert "(from 12% up to 64%)" in page
    assert prediction.review_band_percent == (12, 64)
