"""The patient's sex, age and the study's dates as the portal reads them from a DICOM dataset, for both
de-identification (what a parent's upload keeps) and a site's intake (what results are addressed back
with): one reading, so the SR a site gets back says what the stored scan says."""

from __future__ import annotations

import datetime
import re

from pydicom import Dataset

from ml.dicom_values import full_text

SEXES = frozenset({"M", "F", "O"})  # PS3.3 C.7.1.1: male, female, other; anything else is unknown ("")
# The date of the X-ray, for the age when only a birth date is given: the first of these present.
XRAY_DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")
AGE_UNITS_IN_MONTHS = {"D": 1 / 30.4375, "W": 7 / 30.4375, "M": 1, "Y": 12}


def dicom_date(value) -> datetime.date | None:
    """A DA value ("YYYYMMDD", also the first eight characters of a DT) as a date; None if it is not one."""
    try:
        return datetime.datetime.strptime(str(value or "").strip()[:8], "%Y%m%d").date()
    except ValueError:
        return None


def patient_sex(dataset: Dataset) -> str:
    """PatientSex when it is M, F or O; "" for absent, empty or anything else (a cut "MALE" included)."""
    sex = full_text(dataset, "PatientSex").upper()
    return sex if sex in SEXES else ""


def patient_age_months(dataset: Dataset) -> int | None:
    """The age at the X-ray in whole months: PatientAge ("004Y", "018M", ...), else the birth date and
    the X-ray's date. None when neither is there or the values do not make sense."""
    stated = re.fullmatch(r"(\d{3})([DWMY])", full_text(dataset, "PatientAge"))
    if stated:
        return int(int(stated.group(1)) * AGE_UNITS_IN_MONTHS[stated.group(2)])
    born = dicom_date(full_text(dataset, "PatientBirthDate"))
    taken = next((day for day in (dicom_date(full_text(dataset, name)) for name in XRAY_DATES) if day), None)
    if born is None or taken is None or taken < born:
        return None
    months = (taken.year - born.year) * 12 + taken.month - born.month
    return months - (taken.day < born.day)
