"""The database keeps a film once per site (the installation included, whose site is NULL) and at most
one active head per site: rules that hold on SQLite and PostgreSQL alike."""

import pytest
from django.db import IntegrityError, transaction

from tests.factories import ReadingHeadFactory, ReferenceCaseFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("with_site", [True, False], ids=["site", "installation"])
def test_the_same_film_is_kept_once_per_site(with_site):
    site = SiteFactory() if with_site else None
    ReferenceCaseFactory(site=site, content_sha256="a" * 64)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReferenceCaseFactory(site=site, content_sha256="a" * 64)


def test_the_same_film_may_teach_two_sites_and_the_installation():
    for site in (SiteFactory(), SiteFactory(), None):
        ReferenceCaseFactory(site=site, content_sha256="b" * 64)


@pytest.mark.parametrize("with_site", [True, False], ids=["site", "installation"])
def test_one_active_head_per_site(with_site):
    site = SiteFactory() if with_site else None
    ReadingHeadFactory(site=site, active=True)
    ReadingHeadFactory(site=site, active=False)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReadingHeadFactory(site=site, active=True)


def test_head_numbers_are_per_site():
    site = SiteFactory()
    ReadingHeadFactory(site=site, number=1)
    ReadingHeadFactory(site=None, number=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReadingHeadFactory(site=None, number=1)
