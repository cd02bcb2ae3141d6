"""The profile made for a parent who uploads before naming anyone: its placeholder name is ours, so pages
show it in the parent's language and never in a possessive ("My X-rays's X-ray"), and naming it starts
from an empty field."""

import re

import pytest
from django.urls import reverse

from patients.models import DEFAULT_NAME, Patient
from tests.factories import PredictionFactory, ScanFactory, UserFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db
HEADING = re.compile(r"<h1>\s*(.*?)\s*</h1>", re.DOTALL)


@pytest.fixture
def unnamed_scan():
    owner = UserFactory()
    scan = ScanFactory(owner=owner, patient=Patient.objects.default_for(owner), done=True)
    PredictionFactory(scan=scan)
    return scan


def heading(response) -> str:
    return HEADING.search(response.content.decode()).group(1)


def test_an_xray_uploaded_before_naming_anyone_is_headed_as_a_chest_xray(client, unnamed_scan):
    client.force_login(unnamed_scan.owner)

    page = client.get(unnamed_scan.get_absolute_url())

    assert heading(page).startswith("Chest X-ray, ")
    assert "My X-rays&#x27;s" not in page.content.decode() and "My X-rays's" not in page.content.decode()


@pytest.mark.parametrize(
    "language, name, xray",
    [
        ("es", "Mis radiografías", "Radiografía de tórax, "),
        ("fr", "Mes radiographies", "Radiographie du thorax, "),
        ("pt-br", "Minhas radiografias", "Radiografia de tórax, "),
        ("zh-hans", "我的X光片", "胸部X光片，"),
    ],
)
def test_the_unnamed_profile_is_shown_in_the_parents_language(client, unnamed_scan, language, name, xray):
    owner = unnamed_scan.owner
    owner.language = language
    owner.save(update_fields=["language"])
    client.force_login(owner)

    pages = {
        "scan": client.get(unnamed_scan.get_absolute_url()),
        "history": client.get(unnamed_scan.patient.get_absolute_url()),
        "profiles": client.get(reverse("patients:list")),
        "upload": client.get(reverse("scans:upload")),
        "exports": client.get(reverse("exports:page")),
    }

    assert heading(pages["scan"]).startswith(xray)
    assert heading(pages["history"]) == name
    for where in ("profiles", "upload"):
        assert name in pages[where].content.decode(), where
    for where, page in pages.items():
        assert page.status_code == 200 and DEFAULT_NAME not in page.content.decode(), where


def test_naming_the_unnamed_profile_starts_from_an_empty_name_and_then_reads_as_theirs(client, unnamed_scan):
    patient = unnamed_scan.patient
    client.force_login(unnamed_scan.owner)
    edit = reverse("patients:edit", args=[patient.pk])

    form = client.get(edit).content.decode()
    client.post(edit, {"name": "Leo", "date_of_birth": "2023-06-01"})

    (name_input,) = re.findall(r"<input[^>]*name=\"name\"[^>]*>", form)
    assert 'value="' not in name_input and DEFAULT_NAME not in form
    patient.refresh_from_db()
    assert patient.name == "Leo" and not patient.is_unnamed
    assert heading(client.get(unnamed_scan.get_absolute_url())).startswith("Leo's X-ray, ")


def test_an_empty_name_for_the_unnamed_profile_is_refused_and_it_keeps_its_scans(client, unnamed_scan):
    patient = unnamed_scan.patient
    client.force_login(unnamed_scan.owner)

    page = client.post(reverse("patients:edit", args=[patient.pk]), {"name": "   ", "date_of_birth": "2023-06-01"})

    assert page.status_code == 200 and page.context["form"].errors["name"]
    patient.refresh_from_db()
    assert patient.is_unnamed and list(patient.scans.all()) == [unnamed_scan]
