"""adapt_model and the staff page's fit: the guardrails refuse a head that is no better than the shipped
one, one fitted on too few cases or on one class only (exit 2, or a message), and a head that passes is
activated and names itself in the next reading.

The 200-odd reference cases are built from four real films per class (their logits and embeddings from
the serving network) plus Gaussian noise, not from 200 real films: enough to exercise the fitting and
its guardrails end to end, not a measure of how well adaptation works on real sites."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from adaptation import fitting
from adaptation.models import AdaptationRun, ReadingHead
from inference import services
from ml.heads import Head
from ml.preprocessing import decode, encode_png
from scans.model_card import read_manifest
from tests.adaptation.conftest import build_cases
from tests.factories import ScanFactory, SiteFactory, private_media, serving_network_version  # noqa: F401

pytestmark = pytest.mark.django_db


def adapt(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("adapt_model", *args, stdout=out, stderr=io.StringIO())
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def shifted_site(real_readings, site=None):
    """A site whose films all read about five logits more pneumonia-like than the training hospital's:
    the ranking holds, the shipped probabilities and threshold do not."""
    return build_cases(real_readings, {"normal": 120, "pneumonia": 120}, logit_shift=5.0, site=site)


@pytest.mark.slow  # fits and bootstraps heads: 5-30 s
def test_too_few_cases_are_refused_with_exit_2(real_readings):
    build_cases(real_readings, {"normal": 60, "pneumonia": 60}, logit_shift=5.0)

    code, output = adapt("--activate")

    assert code == 2 and "Not activated: Only 120 reference cases; adaptation needs at least 200." in output
    assert not ReadingHead.objects.filter(active=True).exists()


def test_no_cases_at_all_are_refused_with_exit_2():
    code, output = adapt("--activate")

    assert code == 2 and "Not activated: Only 0 reference cases; adaptation needs at least 200." in output
    assert not ReadingHead.objects.exists()


def test_one_class_only_is_refused_with_exit_2(real_readings):
    build_cases(real_readings, {"pneumonia": 240})

    code, output = adapt("--activate")

    assert (
        code == 2 and "Not activated: 0 normal and 240 pneumonia cases; adaptation needs at least 50 of each" in output
    )
    assert not ReadingHead.objects.filter(active=True).exists()


@pytest.mark.slow  # fits and bootstraps heads: 5-30 s
def test_a_head_no_better_than_the_shipped_one_is_refused(real_readings):
    # Labels drawn from the shipped head's own probabilities: the shipped head is the truth here, so a
    # refitted head can only add estimation noise.
    shipped = Head.from_manifest(read_manifest())

    def from_shipped(logits, rng):
        return np.where(rng.random(logits.size) < shipped.probabilities(logits), "pneumonia", "normal")

    build_cases(real_readings, {"normal": 150, "pneumonia": 150}, logit_noise=3.0, labels=from_shipped)

    code, output = adapt("--activate")

    assert (
        code == 2
        and "Not activated: The adapted head does not beat the shipped one on cross-validated log-loss" in output
    )
    assert not ReadingHead.objects.filter(active=True).exists()


@pytest.mark.slow  # fits and bootstraps heads: 5-30 s
def test_a_head_that_passes_is_activated_and_the_next_reading_names_it(real_readings, xray_bytes):
    site = SiteFactory(name="Hospital B")
    shifted_site(real_readings, site)

    code, output = adapt("--site", "Hospital B", "--activate")

    head = ReadingHead.objects.get(site=site)
    assert code == 0 and head.active, output
    assert (
        head.report["figures"]["adapted"]["log_loss"]["value"] < head.report["figures"]["shipped"]["log_loss"]["value"]
    )
    decoded = decode(xray_bytes)
    scan = ScanFactory(
        owner=None, patient=None, site=site, image=ContentFile(encode_png(decoded), name="x.png"),
        width=decoded.size[0], height=decoded.size[1],
    )  # fmt: skip
    services.process_scan(scan.pk, task_id="t1")
    assert scan.predictions.get().model_version == f"{serving_network_version()}+site-{site.pk}.1"


def test_the_page_fits_in_the_worker_and_shows_why_a_head_was_refused(admin_client, real_readings):
    build_cases(real_readings, {"pneumonia": 240})
    admin_client.post(reverse("adaptation:adapt"), {"site": ""})
    run = AdaptationRun.objects.get()

    assert fitting.run_adaptation(run.pk) == "done"
    assert fitting.run_adaptation(run.pk) == "skipped"

    run.refresh_from_db()
    page = admin_client.get(reverse("adaptation:page")).content.decode()
    assert run.report["refusal"] and run.report["refusal"] in page.replace("&#x27;", "'")
    if run.reading_head:  # a refused head is listed, without an Activate button
        assert f'action="{reverse("adaptation:activate", args=[run.reading_head.pk])}"' not in page


@pytest.mark.slow  # fits and bootstraps heads: 5-30 s
def test_without_activate_it_only_reports_and_staff_activate_the_head_on_the_page(admin_client, real_readings):
    shifted_site(real_readings)

    code, output = adapt()

    head = ReadingHead.objects.get()
    assert code == 0 and not head.active and head.may_activate
    assert f"Kept as reading head +local.1 of the installation (version {head.version})" in output
    assert "It passes the guardrails" in output and "--activate" in output

    response = admin_client.post(reverse("adaptation:activate", args=[head.pk]), follow=True)
    head_page = admin_client.get(reverse("adaptation:head", args=[head.pk])).content.decode()

    head.refresh_from_db()
    assert head.active and f"read as {head.version}" in response.content.decode()
    assert 'data-figure="auc"' in head_page and "<polyline" in head_page
