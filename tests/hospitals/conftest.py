"""Real DICOM peers for the hospital tests: an Orthanc PACS, the portal's own listener in this process,
and the sites allowed to send to it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest
from pynetdicom.transport import ThreadedAssociationServer

from hospitals.listener import serve
from hospitals.models import Site
from tests.factories import SiteFactory
from tests.hospitals.orthanc import ORTHANC, Orthanc
from tests.hospitals.studies import xray_pixels

LISTENER_AE_TITLE = "PNEUMONIA"


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory):
    """One Orthanc for the session (it starts in well under a second, but there is no need to twice)."""
    if not os.access(ORTHANC, os.X_OK):
        pytest.skip(f"Orthanc not found at {ORTHANC}: run scripts/ensure-dicom-peers")
    server = Orthanc(tmp_path_factory.mktemp("orthanc")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def orthanc(orthanc_server) -> Orthanc:
    """The session's Orthanc, emptied for this test; its log is attached to a failure's report."""
    orthanc_server.clear()
    return orthanc_server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    orthanc = getattr(item, "funcargs", {}).get("orthanc")
    if report.failed and orthanc is not None:
        report.sections.append(("Orthanc log (tail)", orthanc.log_tail()))


@dataclass
class RunningListener:
    host: str
    port: int
    ae_title: str
    server: ThreadedAssociationServer


@pytest.fixture
def dicom_listener(transactional_db):
    """The portal's C-STORE listener, in threads of this process, on a free port of 127.0.0.1.

    It reads and writes the test database from its association threads, hence transactional_db."""
    server = serve(address="127.0.0.1", port=0, ae_title=LISTENER_AE_TITLE, block=False)
    host, port = server.server_address[:2]
    try:
        yield RunningListener(host, port, LISTENER_AE_TITLE, server)
    finally:
        server.shutdown()


@pytest.fixture
def orthanc_site(orthanc, transactional_db) -> Site:
    """The hospital whose PACS is the test Orthanc: associations from its AE title are let in."""
    return SiteFactory(name="Orthanc General", ae_titles=[orthanc.ae_title])


@pytest.fixture
def orthanc_sending(orthanc, dicom_listener) -> Orthanc:
    """The test Orthanc with the listener as its modality "portal" (Orthanc.send_to_portal)."""
    orthanc.add_modality("portal", dicom_listener.ae_title, dicom_listener.host, dicom_listener.port)
    return orthanc


@pytest.fixture(scope="session")
def chest_pixels(xray_path) -> np.ndarray:
    """A real chest X-ray from the shared training set, as a CR detector's 12-bit values."""
    return xray_pixels(xray_path)
