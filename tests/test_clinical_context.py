"""Whose X-ray, how old, what symptoms: profiles, the context of an upload, the population warning and
the urgent-care signs, on the pages, on the worklist and in the API."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from pydicom import dcmread

from patients.models import Patient, age_in_months
from reviews import monitoring
from reviews.models import ReviewCase
from reviews.worklist import worklist
from scans import clinical
from scans.models import Scan
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import (  # noqa: F401
    PatientFactory,
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    private_media,
)
from tests.ml.dicom_files import dicom_bytes, identifying_dicom_bytes

pytestmark = pytest.mark.django_db


def born_months_ago(months: int) -> date:
    today = timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, min(today.day, 28))


def xray_file(xray_path, name="chest.jpeg"):
    return SimpleUploadedFile(name, xray_path.read_bytes(), content_type="image/jpeg")


@pytest.fixture
def parent(client):
    account = UserFactory()
    client.force_login(account)
    return account


# --- Ages and warnings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "months"),
    [((2020, 1, 15), (2021, 1, 15), 12), ((2020, 1, 15), (2021, 1, 14), 11), ((2020, 1, 31), (2020, 3, 1), 1)],
)
def test_the_age_in_months_counts_whole_months(born, on, months):
    assert age_in_months(date(*born), date(*on)) == months


@pytest.mark.parametrize(
    ("months", "warned"), [(None, True), (11, True), (12, False), (71, False), (72, True), (40 * 12, True)]
)
def test_the_population_warning_is_for_every_age_outside_one_to_five_and_for_an_unknown_age(months, warned):
    assert (clinical.population_warning(months) is not None) == warned


def test_the_warning_names_the_age_in_plain_words():
    assert "for a 40-year-old it may be wrong" in clinical.population_warning(40 * 12)
    assert "radiologist will look at it" in clinical.population_warning(40 * 12)
    assert "for a 7-month-old" in clinical.population_warning(7)


@pytest.mark.parametrize(
    ("months", "breaths", "fast"), [(6, 50, True), (6, 49, False), (30, 40, True), (30, 39, False), (1, 60, True)]
)
def test_fast_breathing_follows_imci_thresholds_for_age(months, breaths, fast):
    assert bool(clinical.danger_signs([], breaths, months)) == fast


def test_danger_signs_call_for_care_now_and_name_their_source():
    advice = clinical.urgent_care(clinical.danger_signs(["chest_indrawing", "cough"], None, 30))

    assert advice.startswith("Seek medical care now")
    assert "lower chest pulls in" in advice and "WHO Integrated Management of Childhood Illness" in advice
    assert clinical.urgent_care(clinical.danger_signs(["cough", "fever"], 30, 30)) is None


# --- Profiles -------------------------------------------------------------------------------------------


def test_a_parent_adds_a_child_and_sees_them_listed(client, parent):
    response = client.post(reverse("patients:list"), {"name": "Mia", "date_of_birth": "2023-04-01"}, follow=True)

    assert Patient.objects.get(owner=parent).name == "Mia"
    assert "Mia" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "date_of_birth": "2023-04-01"}, "This field is required"),
        ({"name": "   ", "date_of_birth": "2023-04-01"}, "This field is required"),
        ({"name": "Mia", "date_of_birth": "2999-01-01"}, "cannot be in the future"),
        ({"name": "Mia", "date_of_birth": "not a date"}, "Enter a valid date"),
        ({"name": "x" * 81, "date_of_birth": "2023-04-01"}, "at most 80 characters"),
    ],
)
def test_a_broken_profile_is_refused_with_a_reason_and_nothing_is_saved(client, parent, fields, message):
    response = client.post(reverse("patients:list"), fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Patient.objects.exists()


def test_a_name_is_shown_as_text_never_as_markup(client, parent):
    client.post(reverse("patients:list"), {"name": "<script>alert(1)</script>", "date_of_birth": "2023-04-01"})

    page = client.get(reverse("patients:list")).content.decode()

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_another_accounts_profile_cannot_be_opened_or_changed(client, parent):
    stranger = PatientFactory(name="Theirs")

    assert client.get(reverse("patients:edit", args=[stranger.pk])).status_code == 404
    assert client.post(reverse("patients:edit", args=[stranger.pk]), {"name": "Mine"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.name == "Theirs"


# --- Upload with context ------------------------------------------------------------------------------------


def test_an_upload_belongs_to_the_chosen_child_with_its_age_and_symptoms(client, parent, xray_path):
    child = PatientFactory(owner=parent, date_of_birth=born_months_ago(30))

    response = client.post(
        reverse("scans:upload"),
        {
            "files": [xray_file(xray_path)],
            "patient": child.pk,
            "symptoms": ["cough", "fever"],
            "danger_signs": ["stridor"],
            "illness_days": "3",
            "breaths_per_minute": "44",
        },
    )

    scan = Scan.objects.get()
    assert response["Location"] == scan.get_absolute_url()
    assert (scan.patient, scan.age_at_scan_months, scan.illness_days, scan.breaths_per_minute) == (child, 30, 3, 44)
    assert set(scan.symptoms) == {"cough", "fever", "stridor"}
    assert "stridor" in scan.urgent_care.lower() and "fast breathing" in scan.urgent_care.lower()


def test_naming_someone_new_makes_their_profile(client, parent, xray_path):
    client.post(
        reverse("scans:upload"),
        {"files": [xray_file(xray_path)], "new_patient_name": "Leo", "new_patient_date_of_birth": "2024-01-02"},
    )

    scan = Scan.objects.get()
    assert (scan.patient.name, scan.patient.owner, scan.patient.date_of_birth) == ("Leo", parent, date(2024, 1, 2))


def test_nobody_chosen_means_the_accounts_default_profile_and_an_unknown_age(client, parent, xray_path):
    client.post(reverse("scans:upload"), {"files": [xray_file(xray_path)]})

    scan = Scan.objects.get()
    assert scan.patient.owner == parent and scan.age_at_scan_months is None
    assert scan.population_warning.startswith("We do not know the age")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"illness_days": "-1"}, "greater than or equal to 0"),
        ({"illness_days": "forever"}, "Enter a whole number"),
        ({"breaths_per_minute": "9999"}, "less than or equal to 150"),
        ({"symptoms": ["sneezing"]}, "Select a valid choice"),
        ({"new_patient_name": "Leo"}, "date of birth"),
        ({"new_patient_name": "Leo", "new_patient_date_of_birth": "2999-01-01"}, "cannot be in the future"),
    ],
)
def test_broken_context_is_refused_with_a_reason_and_nothing_is_stored(client, parent, xray_path, fields, message):
    response = client.post(reverse("scans:upload"), {"files": [xray_file(xray_path)], **fields})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Scan.objects.exists() and not Patient.objects.exists()


def test_another_accounts_profile_cannot_be_chosen(client, parent, xray_path):
    stranger = PatientFactory()

    response = client.post(reverse("scans:upload"), {"files": [xray_file(xray_path)], "patient": stranger.pk})

    assert "Select a valid choice" in response.content.decode()
    assert not Scan.objects.exists()


def test_a_dicom_brings_the_age_at_the_xray_and_its_copy_keeps_age_and_sex_only(client, parent, grey_pixels):
    data = identifying_dicom_bytes(grey_pixels, PatientSex="F", StudyDate="20240301")  # born 2020-01-01

    client.post(reverse("scans:upload"), {"files": [SimpleUploadedFile("chest.dcm", data)]})

    scan = Scan.objects.get()
    assert (scan.age_at_scan_months, scan.patient_sex) == (50, "F")
    copy = dcmread(scan.dicom_file.open("rb"))
    assert (copy.PatientAge, copy.PatientSex) == ("004Y", "F")
    assert "PatientBirthDate" not in copy or not copy.PatientBirthDate
    assert "113108" in [code.CodeValue for code in copy.DeidentificationMethodCodeSequence]


def test_a_dicoms_stated_age_wins_over_the_profile(client, parent, grey_pixels):
    child = PatientFactory(owner=parent, date_of_birth=born_months_ago(36))
    data = dicom_bytes(grey_pixels, PatientAge="040Y")

    client.post(reverse("scans:upload"), {"files": [SimpleUploadedFile("adult.dcm", data)], "patient": child.pk})

    scan = Scan.objects.get()
    assert scan.age_at_scan_months == 480
    assert "40-year-old" in scan.population_warning


# --- The reading, the worklist and the monitoring ----------------------------------------------------------


def test_an_adults_cleared_reading_still_goes_to_a_radiologist_with_the_warning(client):
    adult = PredictionFactory(normal=True, scan__age_at_scan_months=40 * 12).scan
    client.force_login(adult.owner)

    page = client.get(adult.get_absolute_url()).content.decode()

    assert ReviewCase.objects.get(scan=adult).reason == ReviewCase.Reason.POPULATION
    assert "for a 40-year-old it may be wrong" in page
    assert "on the radiologists' worklist" in page


def test_the_result_page_says_to_seek_care_now_whatever_the_reading(client):
    scan = PredictionFactory(normal=True, scan__symptoms=["convulsions"]).scan
    client.force_login(scan.owner)

    page = client.get(scan.get_absolute_url()).content.decode()

    assert "Seek medical care now" in page and "Fits (convulsions)" in page.replace("fits", "Fits")
    assert "WHO Integrated Management of Childhood Illness" in page


def test_the_probability_is_also_said_as_a_natural_frequency(client):
    scan = PredictionFactory(probability=0.82).scan
    client.force_login(scan.owner)

    assert "about 8 in 10 showed pneumonia" in client.get(scan.get_absolute_url()).content.decode()


def test_danger_signs_go_to_the_top_of_the_worklist_however_low_the_probability():
    now = timezone.now()
    suspicious = PredictionFactory(probability=0.97, scan__finished_at=now - timedelta(days=3)).scan
    urgent = PredictionFactory(normal=True, probability=0.05, scan__symptoms=["unable_to_drink"]).scan

    cases = list(worklist(RadiologistFactory(), now=now).cases)

    assert [case.scan_id for case in cases] == [urgent.pk, suspicious.pk]
    assert cases[0].reason == ReviewCase.Reason.URGENT_CARE


def test_the_worklist_row_and_the_case_page_show_the_context(client):
    child = PatientFactory(name="Mia", date_of_birth=born_months_ago(30))
    scan = PredictionFactory(
        scan__owner=child.owner, scan__patient=child, scan__age_at_scan_months=30,
        scan__symptoms=["cough", "stridor"], scan__illness_days=4,
    ).scan  # fmt: skip
    radiologist = RadiologistFactory()
    client.force_login(radiologist)

    for url in (reverse("reviews:worklist"), reverse("reviews:case", args=[scan.pk])):
        page = client.get(url).content.decode()
        assert "Mia" in page and "2 years at the X-ray" in page
        assert "Cough" in page and "ill for 4 days" in page
        assert "Danger signs:" in page and "stridor" in page


def test_monitoring_shows_agreement_by_age_band():
    ReviewFactory(prediction__scan__age_at_scan_months=30, finding="pneumonia")
    ReviewFactory(prediction__scan__age_at_scan_months=40 * 12, finding="no_pneumonia")

    bands = {band.age_band: band for band in monitoring.agreement_by_age_band()}

    assert bands["1 to 5"].true_positive == 1
    assert bands["18 and over"].false_positive == 1


@pytest.mark.parametrize(
    "age_months, band",
    [
        (None, "unknown"), (0, "under 1"), (clinical.TRAINED_FROM_MONTHS - 1, "under 1"), (clinical.TRAINED_FROM_MONTHS, "1 to 5"),
        (clinical.TRAINED_UNTIL_MONTHS, "1 to 5"), (clinical.TRAINED_UNTIL_MONTHS + 1, "6 to 17"), (18 * 12 - 1, "6 to 17"),
        (18 * 12, "18 and over"),
    ],
)  # fmt: skip
def test_monitoring_age_bands_end_where_the_training_ages_end(age_months, band):
    ReviewFactory(prediction__scan__age_at_scan_months=age_months)

    assert [row.age_band for row in monitoring.agreement_by_age_band()] == [band]


# --- History ------------------------------------------------------------------------------------------------------


def test_the_history_is_per_child_and_the_trend_needs_two_readings(client, parent):
    mia, leo = PatientFactory(owner=parent, name="Mia"), PatientFactory(owner=parent, name="Leo")
    PredictionFactory(scan__owner=parent, scan__patient=mia, scan__original_filename="mia.jpeg")
    PredictionFactory(scan__owner=parent, scan__patient=leo, scan__original_filename="leo.jpeg")

    page = client.get(mia.get_absolute_url()).content.decode()

    assert "mia.jpeg" in page and "leo.jpeg" not in page
    assert "<svg" not in page  # one reading: no trend
    everyone = client.get(reverse("scans:history")).content.decode()
    assert "mia.jpeg" in everyone and "leo.jpeg" in everyone


def test_an_unfinished_row_polls_for_itself_and_a_finished_one_stops(client, parent):
    waiting = ScanFactory(owner=parent)
    done = PredictionFactory(scan__owner=parent).scan

    waiting_row = client.get(reverse("scans:row", args=[waiting.pk])).content.decode()
    done_row = client.get(reverse("scans:row", args=[done.pk])).content.decode()

    assert "hx-get" in waiting_row and "Waiting for the reading" in waiting_row
    assert "hx-get" not in done_row and done.latest_prediction.display_percent in done_row


# --- API ----------------------------------------------------------------------------------------------------------------


def test_the_api_adds_and_lists_only_the_accounts_profiles():
    account = UserFactory()
    PatientFactory(name="Someone else's")
    api = token_client(account)

    created = api.post("/api/v1/patients/", {"name": "Mia", "date_of_birth": "2023-04-01"}, format="json")
    listed = api.get("/api/v1/patients/").json()

    assert created.status_code == 201 and created.json()["id"]
    assert [profile["name"] for profile in listed["results"]] == ["Mia"]


def test_an_api_upload_carries_the_profile_symptoms_and_warnings(xray_path):
    child = PatientFactory(date_of_birth=born_months_ago(7 * 12))
    api = token_client(child.owner)

    response = api.post(
        "/api/v1/scans/",
        {"image": xray_file(xray_path), "patient": child.pk, "symptoms": ["cough", "lethargy"]},
        format="multipart",
    )

    body = response.json()
    assert response.status_code == 201, body
    assert (body["patient"], body["age_at_scan_months"]) == (child.pk, 84)
    assert sorted(body["symptoms"]) == ["cough", "lethargy"]
    assert body["urgent_care"].startswith("Seek medical care now")
    assert "7-year-old" in body["population_warning"]


@pytest.mark.parametrize("field", [{"patient": "other"}, {"symptoms": ["sneezing"]}])
def test_an_api_upload_with_a_strangers_profile_or_an_unknown_symptom_is_refused(xray_path, field):
    account = UserFactory()
    values = {"patient": PatientFactory().pk} if field.get("patient") else field

    response = token_client(account).post(
        "/api/v1/scans/", {"image": xray_file(xray_path), **values}, format="multipart"
    )

    assert response.status_code == 400
    assert not Scan.objects.exists()


@pytest.fixture
def grey_pixels(xray_path):
    import numpy as np

    return np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)


def test_the_trend_has_the_first_and_last_dates_on_its_axis(client, parent):
    child = PatientFactory(owner=parent)
    for day in (3, 10):
        when = timezone.make_aware(timezone.datetime(2026, 5, day, 9))
        PredictionFactory(scan__owner=parent, scan__patient=child, scan__created_at=when)

    page = client.get(child.get_absolute_url()).content.decode()

    assert "<svg" in page
    assert ">3 May 2026</text>" in page and ">10 May 2026</text>" in page
