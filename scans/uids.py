"""The UIDs and identifiers the portal derives itself: stable for the same input on one installation (derived
from its secret key), different from any other installation's. hospitals' results and the DICOMweb copies of
the scans (scans.dicom_instances) share them, so a scan's study is the same study wherever it is named."""

from __future__ import annotations

import uuid

from django.utils.crypto import salted_hmac

# Fixed forever: every UID the portal derives hangs off it, so changing it would re-send everything as new.
UID_NAMESPACE = uuid.UUID("6f1c2d0e-5b1a-4c55-9d43-2a3f6f4f0b71")


def portal_uid(name: str) -> str:
    """A UID under 2.25 (a UUID as a number) for this name."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, name).int}"


def result_uid(scan_id: int, kind: str, revision: int, installation: str = "") -> str:
    """The same UID for the same scan, kind and revision of one installation, so a re-sent result is the
    same instance to a PACS (which keeps one copy) and a new revision a new one."""
    return portal_uid(f"{installation}/scan/{scan_id}/{kind}/{revision}")


def installation() -> str:
    """This portal's mark in the UIDs it makes, derived from its secret key (as de-identification's UIDs
    are): stable while the key is, and different from any other installation's."""
    return salted_hmac("hospitals.result-uids", "", algorithm="sha256").hexdigest()[:32]


def pseudonymous_patient_id(key: str) -> str:
    """The PatientID a de-identified copy is filed under: one per profile or per site patient, so a viewer
    can set a person's films side by side, and nobody without the secret key can tell whose they are."""
    return "PS" + salted_hmac("scans.dicom-patient-id", key, algorithm="sha256").hexdigest()[:30]
