"""Whether a patient may ask for a radiologist's review: one rule (reviews.services.review_request_state)
that the scan page and the request itself both follow, state by state."""

import pytest
from django.urls import reverse

from reviews import services
from reviews.models import ReviewCase
from scans.models import Scan
from tests.factories import PredictionFactory, ReviewFactory, ScanFactory, ask_for_review

pytestmark = pytest.mark.django_db


def unfinished():
    return ScanFactory(status=Scan.Status.QUEUED)


def reviewed():
    return ReviewFactory().scan


def asked():
    scan = PredictionFactory(normal=True).scan
    ask_for_review(scan)
    return scan


def flagged():
    return PredictionFactory().scan


def sampled():
    scan = PredictionFactory(normal=True).scan
    services._open(scan, ReviewCase.Reason.QC_SAMPLE, scan.latest_prediction, scan.finished_at, 0.05)
    return scan


def cleared():
    return PredictionFactory(normal=True).scan


# state, what the page offers (None: no review section), whether a request is taken
CASES = [
    (unfinished, services.NOTHING_TO_ASK, None, False),
    (reviewed, services.NOTHING_TO_ASK, None, False),
    (asked, services.ASKED, "You asked for a radiologist's review on", False),
    (flagged, services.ON_THE_WORKLIST, "This X-ray is on the radiologists' worklist.", True),
    (sampled, services.MAY_ASK, "Ask for a radiologist's review", True),
    (cleared, services.MAY_ASK, "Ask for a radiologist's review", True),
]


@pytest.mark.parametrize("make, state, page_says, taken", CASES, ids=[c[0].__name__ for c in CASES])
def test_the_page_and_the_request_follow_the_same_rule(client, make, state, page_says, taken):
    scan = make()
    case = ReviewCase.objects.filter(scan=scan).first()
    assert services.review_request_state(scan, case) == state

    client.force_login(scan.owner)
    page = client.get(reverse("scans:detail", args=[scan.pk])).content.decode()
    if page_says is None:
        assert 'class="review-request"' not in page
    else:
        section = page[page.index('class="review-request"') :]
        assert page_says in section[: section.index("</section>")]

    assert services.request_review(scan) is taken
