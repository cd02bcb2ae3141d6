"""DICOM studies for the diagnostic viewer's tests and bench: made with pydicom as an X-ray system exports
them, then uploaded through the real path (validation, de-identification, the DICOM copy DICOMweb serves)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from django.utils import timezone

from scans.models import Scan
from scans.services import ClinicalContext, create_scan
from scans.validation import validate_file
from tests.factories import PredictionFactory
from tests.ml.dicom_files import identifying_dicom_bytes

# A 12-bit MONOCHROME1 film of four vertical bands of known stored values, left to right.
BANDS = (600, 1800, 2000, 3400)
BAND_WIDTH = 128
ROWS = 512
PIXEL_SPACING_MM = 0.2


def banded_pixels() -> np.ndarray:
    return np.repeat(np.array(BANDS, dtype=np.uint16), BAND_WIDTH)[np.newaxis, :].repeat(ROWS, axis=0)


def band_centre(index: int) -> tuple[float, float]:
    """The middle of a band, in image pixels (column, row)."""
    return (index + 0.5) * BAND_WIDTH, ROWS / 2


def twelve_bit_monochrome1() -> bytes:
    return identifying_dicom_bytes(
        banded_pixels(),
        photometric="MONOCHROME1",
        bits_stored=12,
        WindowCenter=2048,
        WindowWidth=4096,
        ImagerPixelSpacing=[PIXEL_SPACING_MM, PIXEL_SPACING_MM],
    )


def plain_film(value: int, size: int = 256) -> bytes:
    return identifying_dicom_bytes(np.full((size, size), value, dtype=np.uint16), bits_stored=12)


def uploaded(patient, data: bytes, *, days_ago: int = 0) -> Scan:
    """The parent's upload of the profile's X-ray, read by the model (a heatmap, a case on the worklist)."""
    scan = create_scan(patient.owner, validate_file(data, "chest.dcm"), ClinicalContext(patient))
    created_at = timezone.now() - timedelta(days=days_ago)
    Scan.objects.filter(pk=scan.pk).update(status=Scan.Status.DONE, finished_at=created_at, created_at=created_at)
    scan.refresh_from_db()
    PredictionFactory(scan=scan, probability=0.91)
    return scan


def expected_grey(stored: float, centre: float, width: float, *, monochrome1: bool) -> float:
    """The DICOM linear VOI LUT (PS3.3 C.11.2.1.2.1) onto 0..255, inverted for MONOCHROME1."""
    lower, upper = centre - 0.5 - (width - 1) / 2, centre - 0.5 + (width - 1) / 2
    if stored <= lower:
        grey = 0.0
    elif stored > upper:
        grey = 255.0
    else:
        grey = ((stored - (centre - 0.5)) / (width - 1) + 0.5) * 255
    return 255 - grey if monochrome1 else grey
