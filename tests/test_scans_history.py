"""The history page: the patient's own scans, newest first, 20 a page, with a trend of past results."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from scans.models import Scan
from tests.factories import (  # noqa: F401
    PatientFactory,
    PredictionFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    private_media,
)

HISTORY_URL = reverse("scans:history")


def test_it_lists_only_the_patients_own_scans(client, db):
    patient = UserFactory()
    own = ScanFactory(owner=patient, original_filename="mine.jpeg")
    ScanFactory(original_filename="someone-elses.jpeg")
    client.force_login(patient)

    page = client.get(HISTORY_URL).content.decode()

    assert "mine.jpeg" in page
    assert own.get_absolute_url() in page
    assert "someone-elses.jpeg" not in page


def test_it_lists_the_newest_first(client, db):
    patient = UserFactory()
    now = timezone.now()
    for days, name in [(3, "oldest.jpeg"), (1, "newest.jpeg"), (2, "middle.jpeg")]:
        ScanFactory(owner=patient, original_filename=name, created_at=now - timedelta(days=days))
    client.force_login(patient)

    page = client.get(HISTORY_URL).content.decode()

    assert page.index("newest.jpeg") < page.index("middle.jpeg") < page.index("oldest.jpeg")


def test_it_shows_20_scans_a_page(client, db):
    patient = UserFactory()
    ScanFactory.create_batch(21, owner=patient)
    client.force_login(patient)

    first = client.get(HISTORY_URL)
    second = client.get(HISTORY_URL, {"page": 2})

    assert len(first.context["page"]) == 20
    assert len(second.context["page"]) == 1
    assert "Page 1 of 2" in first.content.decode()


def test_a_result_is_summarised_at_a_glance(client, db):
    prediction = PredictionFactory(probability=0.82)
    client.force_login(prediction.scan.owner)

    page = client.get(HISTORY_URL).content.decode()

    assert "82%" in page
    assert "Pneumonia suspected" in page
    assert "Needs radiologist review" in page
    assert "Done" in page


def test_unfinished_and_refused_scans_say_so(client, db):
    patient = UserFactory()
    ScanFactory(owner=patient)
    ScanFactory(owner=patient, status=Scan.Status.REJECTED, status_reason="Not an X-ray.")
    client.force_login(patient)

    page = client.get(HISTORY_URL).content.decode()

    assert "Waiting for the reading" in page
    assert "Rejected" in page


def test_the_trend_draws_one_childs_past_results_as_an_inline_svg_line(client, db):
    child = PatientFactory()
    now = timezone.now()
    for days, probability in [(3, 0.2), (2, 0.6), (1, 0.9)]:
        scan = ScanFactory(owner=child.owner, patient=child, done=True, created_at=now - timedelta(days=days))
        PredictionFactory(scan=scan, probability=probability)
    client.force_login(child.owner)

    page = client.get(child.get_absolute_url()).content.decode()

    assert "<svg" in page
    assert "<polyline" in page
    assert "between 20% and 90%" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_the_page_carries_the_screening_aid_statement(client, db):
    client.force_login(PredictionFactory().scan.owner)

    page = client.get(HISTORY_URL).content.decode()

    assert "It is a screening aid, not a diagnosis" in page


def test_the_number_of_queries_does_not_grow_with_the_number_of_scans(client, db, django_assert_max_num_queries):
    patient = UserFactory()
    client.force_login(patient)
    for _ in range(2):
        ReviewFactory(prediction__scan=ScanFactory(owner=patient, done=True))
    with django_assert_max_num_queries(12) as few:
        client.get(HISTORY_URL)

    for _ in range(15):
        ReviewFactory(prediction__scan=ScanFactory(owner=patient, done=True))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(HISTORY_URL)
