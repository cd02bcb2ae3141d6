"""Factories for a site's studies: a scan the site owns, with the identifiers it was sent under."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory
from pydicom.uid import ComputedRadiographyImageStorage, generate_uid

from hospitals.models import DicomOrigin
from tests.factories import PredictionFactory, ScanFactory, SiteFactory


class SiteScanFactory(ScanFactory):
    """A study a hospital sent: the site's, no account's or profile's."""

    class Meta:
        skip_postgeneration_save = True

    owner = None
    patient = None
    site = factory.SubFactory(SiteFactory)
    source_format = "DICOM"
    origin = factory.RelatedFactory("tests.hospitals.factories.DicomOriginFactory", factory_related_name="scan")


class DicomOriginFactory(DjangoModelFactory):
    class Meta:
        model = DicomOrigin

    scan = factory.SubFactory(SiteScanFactory, origin=None)
    site = factory.SelfAttribute("scan.site")
    study_instance_uid = factory.LazyFunction(generate_uid)
    series_instance_uid = factory.LazyFunction(generate_uid)
    sop_instance_uid = factory.LazyFunction(generate_uid)
    sop_class_uid = ComputedRadiographyImageStorage
    accession_number = factory.Sequence(lambda n: f"ACC{n:05d}")
    patient_id = factory.Sequence(lambda n: f"MRN{n:06d}")
    patient_name = "Doe^Jane"
    patient_sex = "F"
    received_via = DicomOrigin.Via.C_STORE


def site_reading(site=None, **prediction):
    """A finished site study with a reading that flags it for review (PredictionFactory's default)."""
    scan = SiteScanFactory(done=True, **({"site": site} if site else {}))
    return PredictionFactory(scan=scan, **prediction)
