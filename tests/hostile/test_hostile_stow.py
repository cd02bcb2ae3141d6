"""Every file of the hostile corpus sent to a hospital's door, DICOMweb STOW-RS, as a part that claims to
be application/dicom: each is stored as a site's scan or listed as failed with a reason, beside an honest
instance in the same request; never a server error, never a scan without the identifiers results need."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from accounts.models import ApiToken
from hospitals.models import DicomOrigin
from scans.models import Scan
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import SiteFactory, UserFactory, private_media  # noqa: F401
from tests.hostile.corpus import REFUSE, build_corpus, source_xray
from tests.ml.dicom_files import dicom_bytes

CORPUS = build_corpus()
REFERENCED_SOP_SEQUENCE, FAILED_SOP_SEQUENCE = "00081199", "00081198"
BOUNDARY = "hostile-boundary"


def honest_instance() -> bytes:
    return dicom_bytes(
        source_xray().astype(np.uint16) * 257, StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid()
    )


def with_study_uids(data: bytes) -> bytes:
    """A corpus DICOM given the UIDs a modality always sends, so the validator, not the missing address,
    decides; other bytes go as they are."""
    try:
        dataset = dcmread(io.BytesIO(data))
        dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
        buffer = io.BytesIO()
        dataset.save_as(buffer)
        return buffer.getvalue()
    except Exception:  # hostile bytes: whatever pydicom makes of them, they are sent as they are
        return data


@pytest.fixture
def site_client(client, db):
    account = UserFactory()
    SiteFactory(service_account=account)
    _, key = ApiToken.issue(account, "PACS")
    return client, key


@pytest.mark.parametrize("case", CORPUS, ids=[case.label for case in CORPUS])
def test_a_hostile_part_is_stored_or_failed_and_never_breaks_the_request(site_client, case):
    client, key = site_client
    parts = [with_study_uids(case.data), honest_instance()]
    body = b"".join(
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n" for part in parts
    )
    response = client.post(
        "/dicomweb/studies",
        body + f"--{BOUNDARY}--\r\n".encode(),
        content_type=f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
        headers={"Authorization": f"Token {key}"},
    )
    assert response.status_code in (200, 202), response.content[:500]
    answer = response.json()
    stored = answer.get(REFERENCED_SOP_SEQUENCE, {}).get("Value", [])
    failed = answer.get(FAILED_SOP_SEQUENCE, {}).get("Value", [])
    assert len(stored) + len(failed) == 2
    if case.expect == REFUSE:
        assert len(failed) == 1
    scans = Scan.objects.all()
    assert scans.count() == len(stored)
    assert DicomOrigin.objects.filter(scan__in=scans).count() == len(stored)
