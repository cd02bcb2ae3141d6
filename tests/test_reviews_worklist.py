"""The worklist: cases that need a human, most urgent first, filterable, with counts, one query per list."""

import html
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews import services
from reviews.models import ReviewCase
from reviews.worklist import worklist
from scans.models import Prediction, Scan
from tests.factories import (  # noqa: F401
    PredictionFactory,
    RadiologistFactory,
    ReviewFactory,
    ScanFactory,
    UserFactory,
    ask_for_review,
    private_media,
)

WORKLIST_URL = reverse("reviews:worklist")


@pytest.fixture
def radiologist(db):
    return RadiologistFactory()


def requested_normal_scan(when=None, **kwargs):
    scan = PredictionFactory(normal=True, **kwargs).scan
    ask_for_review(scan, when)
    return scan


def case_ids(work) -> list[int]:
    """The scans on the worklist, in its order."""
    return [case.scan_id for case in work.cases]


def test_it_lists_suspected_uncertain_and_requested_cases_only(radiologist):
    suspected = PredictionFactory().scan
    uncertain = PredictionFactory(uncertain=True).scan
    requested = requested_normal_scan()
    PredictionFactory(normal=True)  # the model cleared it and nobody asked
    ReviewFactory()  # already reviewed
    ScanFactory(status=Scan.Status.PROCESSING)  # not read yet

    work = worklist(radiologist)

    assert set(case_ids(work)) == {suspected.pk, uncertain.pk, requested.pk}


def test_a_radiologist_never_gets_their_own_xray(radiologist):
    PredictionFactory(scan__owner=radiologist)

    assert list(worklist(radiologist).cases) == []


def test_a_case_read_twice_shows_its_newest_reading_and_stays_once_any_reading_flagged_it(radiologist):
    flagged_first = PredictionFactory(model_version="model+old")
    newest = PredictionFactory(scan=flagged_first.scan, normal=True, model_version="model+new")
    Prediction.objects.filter(pk=flagged_first.pk).update(created_at=newest.created_at - timedelta(hours=1))

    (case,) = worklist(radiologist).cases

    assert case.scan_id == flagged_first.scan_id
    reading = case.prediction
    assert (reading.model_version, reading.label, reading.probability) == ("model+new", "normal", newest.probability)
    assert case.reason == "pneumonia"


def test_the_most_suspicious_case_comes_first(radiologist):
    now = timezone.now()
    likely = PredictionFactory(probability=0.97, scan__finished_at=now).scan
    borderline = PredictionFactory(uncertain=True, probability=0.35, scan__finished_at=now).scan
    middling = PredictionFactory(probability=0.7, scan__finished_at=now).scan

    assert case_ids(worklist(radiologist, now=now)) == [likely.pk, middling.pk, borderline.pk]


def test_a_case_waiting_for_days_overtakes_a_newer_more_suspicious_one(radiologist):
    now = timezone.now()
    new_and_suspicious = PredictionFactory(probability=0.95, scan__finished_at=now).scan
    old_request = requested_normal_scan(when=now - timedelta(days=2), scan__finished_at=now - timedelta(days=5))

    assert case_ids(worklist(radiologist, now=now)) == [old_request.pk, new_and_suspicious.pk]


def test_it_filters_by_reason_and_counts_every_reason(radiologist):
    suspected = PredictionFactory().scan
    uncertain = PredictionFactory(uncertain=True).scan
    requested = requested_normal_scan()

    assert case_ids(worklist(radiologist, reason="pneumonia")) == [suspected.pk]
    assert case_ids(worklist(radiologist, reason="indeterminate")) == [uncertain.pk]
    assert case_ids(worklist(radiologist, reason="requested")) == [requested.pk]
    counts = worklist(radiologist, reason="pneumonia").counts
    assert (counts["total"], counts["pneumonia"], counts["indeterminate"], counts["requested"]) == (3, 1, 1, 1)


def test_it_filters_by_who_holds_the_case(radiologist):
    colleague = RadiologistFactory()
    free, mine, theirs = (PredictionFactory().scan for _ in range(3))
    services.claim(mine.pk, radiologist)
    services.claim(theirs.pk, colleague)

    assert case_ids(worklist(radiologist, claim="unclaimed")) == [free.pk]
    assert case_ids(worklist(radiologist, claim="mine")) == [mine.pk]
    assert case_ids(worklist(radiologist, claim="others")) == [theirs.pk]
    counts = worklist(radiologist).counts
    assert (counts["unclaimed"], counts["mine"], counts["others"]) == (1, 1, 1)


def test_an_abandoned_claim_shows_as_free_before_the_sweeper_runs(radiologist, settings):
    settings.REVIEW_CLAIM_MINUTES = 30
    case = PredictionFactory().scan
    services.claim(case.pk, RadiologistFactory(), now=timezone.now() - timedelta(minutes=40))

    work = worklist(radiologist, claim="unclaimed")

    assert case_ids(work) == [case.pk]
    assert work.cases[0].claim_holder() is None


def test_an_unknown_filter_value_shows_everything(radiologist):
    PredictionFactory()

    work = worklist(radiologist, reason="nonsense", claim="nonsense")

    assert len(work.cases) == 1
    assert (work.reason, work.claim) == ("", "")


def test_the_page_shows_each_case_with_its_reading_and_a_claim_button(client, radiologist):
    case = PredictionFactory(probability=0.82, model_version="v-list").scan
    client.force_login(radiologist)

    page = client.get(WORKLIST_URL).content.decode()

    assert case.owner.email in page
    assert "82%" in page
    assert "v-list" in page
    assert "Pneumonia suspected" in page
    assert reverse("reviews:claim", args=[case.pk]) in page


def test_the_page_shows_who_holds_a_case_instead_of_a_claim_button(client, radiologist):
    case = PredictionFactory().scan
    colleague = RadiologistFactory()
    services.claim(case.pk, colleague)
    client.force_login(radiologist)

    page = client.get(WORKLIST_URL).content.decode()

    assert colleague.email in page
    assert reverse("reviews:claim", args=[case.pk]) not in page


def test_the_page_needs_the_same_queries_for_two_cases_or_twenty(client, radiologist):
    client.force_login(radiologist)
    PredictionFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        client.get(WORKLIST_URL)
    PredictionFactory.create_batch(18)
    with CaptureQueriesContext(connection) as many:
        response = client.get(WORKLIST_URL)

    assert len(response.context["page"]) == 20
    assert len(many) == len(few)


def test_claiming_from_the_worklist_opens_the_case(client, radiologist):
    case = PredictionFactory().scan
    client.force_login(radiologist)

    response = client.post(reverse("reviews:claim", args=[case.pk]))

    assert response["Location"] == reverse("reviews:case", args=[case.pk])
    assert ReviewCase.objects.get(scan=case).claimed_by == radiologist


def test_claiming_a_case_someone_holds_goes_back_to_the_worklist_with_a_reason(client, radiologist):
    case = PredictionFactory().scan
    services.claim(case.pk, RadiologistFactory())
    client.force_login(radiologist)

    response = client.post(reverse("reviews:claim", args=[case.pk]), follow=True)

    assert response.redirect_chain[-1][0] == WORKLIST_URL
    assert "being reviewed by another radiologist" in response.content.decode()


def test_a_page_reads_only_its_own_cases_from_the_database(client, radiologist):
    PredictionFactory.create_batch(30)
    client.force_login(radiologist)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(WORKLIST_URL)

    listing = [query["sql"] for query in queries if 'FROM "reviews_reviewcase"' in query["sql"]]
    assert len(response.context["page"]) == 25
    # Counts are aggregates; the one query that returns cases returns a page of them.
    assert all("COUNT(" in sql or "LIMIT 25" in sql for sql in listing), listing
    assert any("LIMIT 25" in sql for sql in listing)


@pytest.mark.parametrize(
    "probability, shown, never",
    [(0.999, ">99%", "100%"), (0.001, "<1%", "0%</strong>"), (0.5, "50%", None)],
)
def test_the_page_shows_the_reading_as_people_should_read_it_never_a_certain_100_percent(
    client, radiologist, probability, shown, never
):
    scan = PredictionFactory(probability=probability, uncertain=True).scan
    client.force_login(radiologist)

    row = html.unescape(client.get(WORKLIST_URL).content.decode()).split(f'data-case="{scan.pk}"')[1]

    assert f"<strong>{shown}</strong>" in row
    assert never is None or never not in row


@pytest.mark.parametrize("reason", ReviewCase.Reason)
def test_each_reason_is_tagged_and_filtered_with_its_own_label(client, radiologist, reason):
    scan = PredictionFactory().scan
    ReviewCase.objects.filter(scan=scan).update(
        reason=reason,
        priority=ReviewCase.Priority.URGENT if reason == "urgent_care" else ReviewCase.Priority.ROUTINE,
        requested_at=timezone.now() if reason == "requested" else None,
    )
    client.force_login(radiologist)

    page = client.get(WORKLIST_URL, {"reason": reason.value}).content.decode()
    row = page.split(f'data-case="{scan.pk}"')[1].split("</tr>")[0]

    assert f'<span class="tag tag-{reason.value}"' in row and html.escape(reason.label) in row
    assert [option.count for option in worklist(radiologist).reason_options() if option.value == reason] == [1]
