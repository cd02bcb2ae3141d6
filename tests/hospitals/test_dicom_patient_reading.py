"""The patient's sex and the study's dates are read by one rule (ml.dicom_patient) on both paths a DICOM
takes in: de-identification of any upload, and a site's intake, which addresses results back with them."""

import datetime

import numpy as np
import pytest
from pydicom.uid import generate_uid

from hospitals.intake import original_identifiers
from ml.deidentify import deidentify
from tests.ml.dicom_files import dicom_bytes


def film(**attributes) -> bytes:
    pixels = np.full((8, 8), 100, dtype=np.uint8)
    return dicom_bytes(
        pixels, bits_stored=8, StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(), **attributes
    )


def sex_on_deidentifying(data: bytes) -> str:
    return deidentify(data, "test-uid-secret").sex


def sex_on_intake(data: bytes) -> str:
    return original_identifiers(data)["patient_sex"]


@pytest.mark.parametrize("read_sex", [sex_on_deidentifying, sex_on_intake])
@pytest.mark.parametrize(
    "written, read", [("M", "M"), ("F", "F"), ("O", "O"), ("f", "F"), ("MALE", ""), ("U", ""), ("", "")]
)
def test_both_paths_read_patient_sex_the_same_way(read_sex, written, read):
    assert read_sex(film(PatientSex=written)) == read


@pytest.mark.parametrize(
    "written, read",
    [("20210304", datetime.date(2021, 3, 4)), ("20210304101500", datetime.date(2021, 3, 4)), ("2021", None),
     ("20211304", None), ("", None)],
)  # fmt: skip
def test_both_paths_read_dates_the_same_way(written, read):
    data = film(PatientBirthDate=written, StudyDate="20240304")

    identifiers = original_identifiers(data)
    age_months = deidentify(data, "test-uid-secret").age_months

    assert identifiers["patient_birth_date"] == read
    assert age_months == (None if read is None else (2024 - read.year) * 12 + 3 - read.month)
