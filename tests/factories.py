"""Factories for users, scans, predictions and reviews, and the fixture that keeps stored files per test.

Import `private_media` into a test module (it is autouse) so its scans are stored in the test's own
temporary folder and never in var/media.
"""

from __future__ import annotations

import functools
import hashlib
import io
from datetime import timedelta

import factory
import numpy as np
import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from factory.django import DjangoModelFactory
from PIL import Image

from accounts.models import User
from adaptation.models import ReadingHead, ReferenceCase
from hospitals.models import Site, SiteAETitle
from patients.models import Patient
from reviews.models import Review, ReviewCase
from reviews.services import open_case_for_reading, request_review
from scans.models import Prediction, Scan

PASSWORD = "correct horse battery staple"


def grey_png(width: int = 64, height: int = 64) -> bytes:
    """A small grey gradient, a stand-in for a stored (re-encoded) X-ray."""
    gradient = np.linspace(0, 255, width * height, dtype=np.float32).reshape(height, width)
    return _png(Image.fromarray(gradient.astype(np.uint8), mode="L"))


def heatmap_png(width: int = 64, height: int = 64) -> bytes:
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 230, 128
    return _png(Image.fromarray(rgba, mode="RGBA"))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


GREY_PNG = grey_png()
# Only the marker of a DICOM file: for tests about who may download it, not about its content.
DICOM_STAND_IN = bytes(128) + b"DICM"
HEATMAP_PNG = heatmap_png()


@functools.cache
def password_hash() -> str:
    # Hashing once: the production hasher is slow on purpose, and tests make many users.
    return make_password(PASSWORD)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Stored files of this test go to its own temporary folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    return tmp_path / "media"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"patient{n}@example.com")
    role = User.Role.PATIENT
    password = factory.LazyFunction(password_hash)


# The authenticator app every test staff member and radiologist has set up (accounts.mfa requires one).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def with_second_factor(user: User) -> User:
    """Give the user an authenticator app, as they would set one up on the MFA page."""
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, TOTP_SECRET)
    return user


def current_totp_code(good_for_seconds: float = 3) -> str:
    """The code the authenticator app shows now, or in a moment when the current one is about to expire:
    a browser test takes a second or two to submit it (axe audits the page first), and the server
    accepts no code from a past period."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < good_for_seconds:
        time.sleep(left)
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // period))


class RadiologistFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"radiologist{n}@example.com")
    role = User.Role.RADIOLOGIST

    @factory.post_generation
    def second_factor(user, create, extracted, **kwargs):
        if create and extracted is not False:  # RadiologistFactory(second_factor=False): none set up yet
            with_second_factor(user)


class StaffFactory(UserFactory):
    class Meta:
        skip_postgeneration_save = True

    is_staff = True

    @factory.post_generation
    def second_factor(user, create, extracted, **kwargs):
        if create and extracted is not False:
            with_second_factor(user)


class PatientFactory(DjangoModelFactory):
    """A child of three: inside the ages the model learned from, so no population warning by default."""

    class Meta:
        model = Patient

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Child {n}")
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate() - timedelta(days=3 * 365 + 30))


class ScanFactory(DjangoModelFactory):
    class Meta:
        model = Scan

    owner = factory.SubFactory(UserFactory)
    patient = factory.SubFactory(PatientFactory, owner=factory.SelfAttribute("..owner"))
    age_at_scan_months = 36
    image = factory.django.FileField(filename="scan.png", data=GREY_PNG)
    original_filename = factory.Sequence(lambda n: f"chest-{n}.jpeg")
    source_format = "JPEG"
    width = 64
    height = 64
    size_bytes = len(GREY_PNG)
    sha256 = hashlib.sha256(GREY_PNG).hexdigest()
    queued_at = factory.LazyFunction(timezone.now)

    class Params:
        done = factory.Trait(status=Scan.Status.DONE, finished_at=factory.LazyFunction(timezone.now))
        dicom = factory.Trait(
            source_format="DICOM",
            dicom_file=factory.django.FileField(filename="scan.dcm", data=DICOM_STAND_IN),
            dicom_summary={
                "kept": {"Modality": "DX", "ViewPosition": "PA"},
                "removed": ["InstitutionName"],
                "replaced": ["PatientName"],
                "private_tags_removed": 0,
            },
        )


class PredictionFactory(DjangoModelFactory):
    """A finished reading: pneumonia suspected unless a trait says otherwise."""

    class Meta:
        model = Prediction
        skip_postgeneration_save = True

    scan = factory.SubFactory(ScanFactory, done=True)
    model_version = "pneumonia-test+0123456789ab"
    probability = 0.82
    label = Prediction.Label.PNEUMONIA
    needs_review = True
    indeterminate = False
    heatmap = factory.django.FileField(filename="heatmap.png", data=HEATMAP_PNG)
    inference_ms = 120.0
    queue_ms = 40.0

    class Params:
        normal = factory.Trait(probability=0.07, label=Prediction.Label.NORMAL, needs_review=False)
        uncertain = factory.Trait(
            probability=0.31, label=Prediction.Label.NORMAL, needs_review=True, indeterminate=True
        )

    @factory.post_generation
    def review_case(prediction, create, extracted, **kwargs):
        """As the worker does: a reading that needs a human puts its scan on the worklist."""
        if create and extracted is not False:
            open_case_for_reading(prediction.scan, prediction)


class ReviewFactory(DjangoModelFactory):
    """A signed review of a flagged reading: the radiologist confirms pneumonia unless told otherwise."""

    class Meta:
        model = Review
        skip_postgeneration_save = True

    prediction = factory.SubFactory(PredictionFactory)
    scan = factory.LazyAttribute(lambda review: review.prediction.scan)
    radiologist = factory.SubFactory(RadiologistFactory)
    finding = Review.Finding.PNEUMONIA
    patient_note = "The X-ray shows a pneumonia in the right lower lobe."
    internal_note = "RLL consolidation."

    @factory.post_generation
    def close_case(review, create, extracted, **kwargs):
        """As signing does: the scan's case, if it had one, leaves the worklist."""
        if create:
            ReviewCase.objects.filter(scan=review.scan).update(
                state=ReviewCase.State.REVIEWED, claimed_by=None, claim_expires_at=None, closed_at=review.created_at
            )


def ask_for_review(scan: Scan, when=None) -> ReviewCase:
    """The patient's request, as the page makes it; `when` backdates it."""
    assert request_review(scan, now=when)
    return ReviewCase.objects.get(scan=scan)


class SiteFactory(DjangoModelFactory):
    """A hospital that sends studies over DICOM: SiteFactory(ae_titles=["DEMO_MODALITY"]) lets those in."""

    class Meta:
        model = Site
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"St Elsewhere {n}")

    @factory.post_generation
    def ae_titles(site, create, extracted, **kwargs):
        for ae_title in (extracted or ()) if create else ():
            SiteAETitleFactory(site=site, ae_title=ae_title)


class SiteAETitleFactory(DjangoModelFactory):
    class Meta:
        model = SiteAETitle

    site = factory.SubFactory(SiteFactory)
    ae_title = factory.Sequence(lambda n: f"MODALITY{n}")


def serving_network_version() -> str:
    from scans.model_card import read_manifest

    return read_manifest()["version"]


class ReadingHeadFactory(DjangoModelFactory):
    """A site's (or with site=None the installation's) head that passed its guardrails: a temperature
    head that sharpens the shipped probabilities, fitted for the serving network."""

    class Meta:
        model = ReadingHead

    site = None
    number = factory.Sequence(lambda n: n + 1)
    head = factory.LazyFunction(
        lambda: {"method": "temperature", "params": {"temperature": 0.5, "bias": -1.0}, "threshold": 0.6, "review_from": 0.3}
    )
    report = factory.LazyFunction(lambda: {"refusal": None, "cases": 240, "normal": 120, "pneumonia": 120})
    base_model_version = factory.LazyFunction(serving_network_version)

    class Params:
        refused = factory.Trait(report={"refusal": "It is worse than the shipped head.", "cases": 240})


class ReferenceCaseFactory(DjangoModelFactory):
    """An imported reference film of the installation (site=None) read by the serving network; tests give
    it the logit and embedding of a real film (tests/adaptation/conftest.py)."""

    class Meta:
        model = ReferenceCase

    site = None
    label = "pneumonia"
    logit = 2.0
    embedding = factory.LazyFunction(lambda: np.zeros(512, dtype=np.float32).tobytes())
    embedding_distance = 7.0
    content_sha256 = factory.Sequence(lambda n: hashlib.sha256(f"film {n}".encode()).hexdigest())
    group_key = factory.Sequence(lambda n: f"patient-{n}")
    source = ReferenceCase.Source.IMPORT
    weight = 1.0
    base_model_version = factory.LazyFunction(serving_network_version)
