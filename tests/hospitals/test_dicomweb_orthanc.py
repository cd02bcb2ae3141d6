"""A second DICOMweb client: Debian's Orthanc with its DICOMweb plugin (orthanc-dicomweb 1.7), configured with
the portal (live_server) as a remote DICOMweb server under the site's token. It finds and retrieves what the
site may see, which lands in Orthanc; another site's study is not found."""

from __future__ import annotations

import os

import pytest

from accounts.models import ApiToken
from hospitals.intake import receive
from hospitals.models import DicomOrigin
from tests.factories import SiteFactory, UserFactory, private_media  # noqa: F401
from tests.hospitals.orthanc import ORTHANC, Orthanc, OrthancError
from tests.hospitals.studies import chest_radiograph

pytestmark = pytest.mark.pacs
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


class OrthancWithDicomweb(Orthanc):
    """Orthanc with the DICOMweb plugin and the portal as its remote server "portal"."""

    def __init__(self, folder, *, portal_url: str, token: str):
        super().__init__(folder)
        self.portal_url, self.token = portal_url, token

    def configuration(self) -> dict:
        return super().configuration() | {
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": {
                "Enable": True,
                "Root": "/dicom-web/",
                "Servers": {
                    "portal": {
                        "Url": f"{self.portal_url}/dicomweb/",
                        "HttpHeaders": {"Authorization": f"Token {self.token}"},
                    }
                },
            },
        }


@pytest.fixture
def site_systems(transactional_db):
    """The site's PACS account, and its token."""
    account = UserFactory(email="pacs@st-elsewhere.example")
    return SiteFactory(service_account=account), ApiToken.issue(account, "PACS gateway")[1]


@pytest.fixture
def orthanc_pulling(tmp_path, live_server, site_systems):
    if not (os.access(ORTHANC, os.X_OK) and os.path.exists(DICOMWEB_PLUGIN)):
        pytest.skip("Orthanc or its DICOMweb plugin missing: run scripts/ensure-dicom-peers")
    server = OrthancWithDicomweb(tmp_path, portal_url=live_server.url, token=site_systems[1]).start()
    try:
        yield server
    finally:
        server.stop()


def test_orthanc_retrieves_the_sites_study_over_dicomweb(orthanc_pulling, site_systems, chest_pixels):
    site, _ = site_systems
    received = receive(chest_radiograph(chest_pixels), site=site, via=DicomOrigin.Via.STOW_RS)
    study_uid = received.scan.dicom_instance.study_instance_uid

    found = orthanc_pulling.post("/dicom-web/servers/portal/qido", {"Uri": "/studies"})
    orthanc_pulling.post("/dicom-web/servers/portal/retrieve", {"Resources": [{"Study": study_uid}]})

    # The plugin answers in Orthanc's own JSON: each value as one string.
    assert [study["0020000D"]["Value"] for study in found] == [study_uid]
    stored = orthanc_pulling.post("/tools/find", {"Level": "Study", "Query": {"StudyInstanceUID": study_uid}})
    assert len(stored) == 1


def test_orthanc_does_not_find_another_sites_study(orthanc_pulling, chest_pixels):
    other = receive(chest_radiograph(chest_pixels), site=SiteFactory(), via=DicomOrigin.Via.STOW_RS)
    study_uid = other.scan.dicom_instance.study_instance_uid

    found = orthanc_pulling.post("/dicom-web/servers/portal/qido", {"Uri": "/studies"})
    with pytest.raises(OrthancError):
        orthanc_pulling.post("/dicom-web/servers/portal/retrieve", {"Resources": [{"Study": study_uid}]})

    assert found in ([], None)
    assert orthanc_pulling.post("/tools/find", {"Level": "Study", "Query": {"StudyInstanceUID": study_uid}}) == []
