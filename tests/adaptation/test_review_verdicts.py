"""A signed review becomes a reference case of its site, labelled with the radiologist's finding and
weighted by the inverse of the chance the reading reached a radiologist."""

import numpy as np
import pytest
from django.core.files.base import ContentFile

from actions.reviews import sign_review
from adaptation.models import ReferenceCase
from inference import services as inference
from ml.preprocessing import decode, encode_png
from reviews import services
from reviews.models import Review, ReviewCase
from tests.factories import (  # noqa: F401  (private_media: autouse fixture)
    PredictionFactory,
    RadiologistFactory,
    ScanFactory,
    SiteFactory,
    ask_for_review,
    private_media,
    serving_network_version,
)

pytestmark = pytest.mark.django_db
EMBEDDING = np.linspace(-1, 1, 32, dtype=np.float32).tobytes()


def reading(**fields):
    """A flagged reading of the serving network that kept its logit and embedding."""
    defaults = {"model_version": serving_network_version(), "logit": 1.5, "embedding": EMBEDDING}
    return PredictionFactory(**{**defaults, **fields})


def sign(scan, finding=Review.Finding.PNEUMONIA):
    radiologist = RadiologistFactory()
    if scan.site_id:
        scan.site.readers.add(radiologist)
    assert services.claim(scan.pk, radiologist)
    return sign_review(scan, radiologist, finding=finding)


def test_a_review_of_a_real_reading_adds_a_reference_case(xray_bytes):
    decoded = decode(xray_bytes)
    scan = ScanFactory(
        image=ContentFile(encode_png(decoded), name="x.png"), width=decoded.size[0], height=decoded.size[1]
    )
    inference.process_scan(scan.pk, task_id="t1")
    ReviewCase.objects.get_or_create(
        scan=scan, defaults={"reason": "pneumonia", "waiting_since": scan.created_at, "due_at": scan.created_at}
    )

    sign(scan, Review.Finding.NO_PNEUMONIA)

    case = ReferenceCase.objects.get(scan=scan)
    prediction = scan.predictions.get()
    assert (case.label, case.source, case.site, case.weight) == ("normal", "review", None, 1.0)
    assert case.logit == prediction.logit and bytes(case.embedding) == bytes(prediction.embedding)
    assert case.base_model_version == serving_network_version() and case.group_key == f"profile-{scan.patient_id}"


def test_a_later_review_of_the_same_scan_replaces_the_label():
    scan = reading().scan
    sign(scan, Review.Finding.PNEUMONIA)
    Review.objects.filter(scan=scan).delete()  # an admin withdrew the first review; the case is read again
    ReviewCase.objects.filter(scan=scan).update(state=ReviewCase.State.WAITING)

    sign(scan, Review.Finding.NO_PNEUMONIA)

    assert list(ReferenceCase.objects.values_list("scan", "label")) == [(scan.pk, "normal")]


def test_a_sites_study_teaches_its_site_grouped_by_the_sites_patient():
    site = SiteFactory()
    scan = reading(scan=ScanFactory(owner=None, patient=None, site=site, done=True)).scan

    sign(scan)

    case = ReferenceCase.objects.get(scan=scan)
    assert case.site == site and case.group_key == f"scan-{scan.pk}"  # no DICOM origin: the scan alone


def test_a_quality_control_sample_weighs_by_the_inverse_of_its_sampling_rate():
    scan = reading(probability=0.05, label="normal", needs_review=False).scan
    ReviewCase.objects.create(
        scan=scan, reason=ReviewCase.Reason.QC_SAMPLE, sampling_probability=0.05, waiting_since=scan.created_at,
        due_at=scan.created_at,
    )  # fmt: skip

    sign(scan, Review.Finding.NO_PNEUMONIA)

    assert ReferenceCase.objects.get(scan=scan).weight == pytest.approx(20.0)


def test_a_patients_request_on_a_cleared_reading_is_kept_but_left_out_of_fitting():
    scan = reading(probability=0.05, label="normal", needs_review=False).scan
    ask_for_review(scan)

    sign(scan, Review.Finding.PNEUMONIA)

    case = ReferenceCase.objects.get(scan=scan)
    assert case.weight == 0.0
    assert not ReferenceCase.objects.for_fitting(serving_network_version()).exists()


def test_an_inconclusive_review_teaches_nothing():
    scan = reading().scan
    sign(scan, Review.Finding.INCONCLUSIVE)

    assert not ReferenceCase.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [{"model_version": "pneumonia-cnn-0+000000000000"}, {"logit": None, "embedding": None}],
    ids=["another-network", "no-raw-outputs"],
)
def test_a_reading_without_the_serving_networks_outputs_does_not_qualify(fields):
    scan = reading(**fields).scan
    sign(scan)

    assert not ReferenceCase.objects.exists() and scan.reviews.exists()


def test_a_reading_by_an_adapted_head_of_the_serving_network_qualifies():
    scan = reading(model_version=serving_network_version() + "+site-3.2").scan
    sign(scan)

    assert ReferenceCase.objects.filter(scan=scan).exists()
