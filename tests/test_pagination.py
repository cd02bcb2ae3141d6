"""The long lists page the same way (templates/_pagination.html): a link on to the next page, named for
the list's order, and back from it."""

import pytest
from django.urls import reverse

from tests.factories import PredictionFactory, RadiologistFactory, ScanFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.factories import site_reading

pytestmark = pytest.mark.django_db


def pages_of(client, url: str) -> tuple[str, str]:
    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    return first, second


def test_the_history_pages_to_older_xrays_and_back(client, monkeypatch):
    monkeypatch.setattr("scans.views.SCANS_PER_PAGE", 1)
    patient = UserFactory()
    ScanFactory.create_batch(2, owner=patient, patient__owner=patient)
    client.force_login(patient)
    first, second = pages_of(client, reverse("scans:history"))
    assert 'rel="next">Older</a>' in first and "Page 1 of 2" in first
    assert 'rel="prev">Newer</a>' in second and "Page 2 of 2" in second


def test_the_worklist_pages_to_less_urgent_cases_and_back(client, monkeypatch):
    monkeypatch.setattr("reviews.views.CASES_PER_PAGE", 1)
    PredictionFactory.create_batch(2)
    client.force_login(RadiologistFactory())
    first, second = pages_of(client, reverse("reviews:worklist"))
    assert 'rel="next">Less urgent</a>' in first
    assert 'rel="prev">More urgent</a>' in second


def test_the_site_studies_page_to_older_studies_and_back(client, monkeypatch):
    monkeypatch.setattr("hospitals.views.STUDIES_PER_PAGE", 1)
    reader = RadiologistFactory()
    site = site_reading().scan.site
    site_reading(site=site)
    site.readers.add(reader)
    client.force_login(reader)
    first, second = pages_of(client, reverse("hospitals:studies"))
    assert 'rel="next">Older</a>' in first
    assert 'rel="prev">Newer</a>' in second
