"""A scan's files are handed over by one function (scans.scan_files.download) on the web and the API:
the same name, type, audit event and 404 for a file the scan lacks, asked here through both."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.api_helpers import fresh_throttles, token_client  # noqa: F401
from tests.factories import PredictionFactory, ScanFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db
# kind: (web URL name, API URL name, file name's end, content type, audit detail after "api: ")
KINDS = {
    "image": ("scans:image", "api:scan-image", ".png", "image/png", ""),
    "heatmap": ("scans:heatmap", "api:scan-heatmap", "-heatmap.png", "image/png", ""),
    "dicom": ("scans:dicom", "api:scan-dicom", "-deidentified.dcm", "application/dicom", "de-identified DICOM"),
    "report": ("scans:report", "api:scan-report", "-report.pdf", "application/pdf", "report"),
}


def on_the_web(client, user, kind, scan):
    client.force_login(user)
    return client.get(reverse(KINDS[kind][0], args=[scan.pk])), ""


def on_the_api(client, user, kind, scan):
    return token_client(user).get(reverse(KINDS[kind][1], args=[scan.pk])), "api"


@pytest.mark.parametrize("ask", [on_the_web, on_the_api])
@pytest.mark.parametrize("kind", KINDS)
def test_each_file_is_named_typed_and_audited_the_same_way_on_both_paths(client, ask, kind):
    scan = PredictionFactory(scan__done=True, scan__dicom=True).scan
    _, _, ending, content_type, detail = KINDS[kind]

    response, via = ask(client, scan.owner, kind, scan)

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert f'filename="scan-{scan.pk}{ending}"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.get(action="downloaded")
    assert event.scan_id == scan.pk and event.detail == ": ".join(part for part in (via, detail) if part)
    assert event.object_type == ("prediction" if kind == "heatmap" else "scan")


@pytest.mark.parametrize("ask", [on_the_web, on_the_api])
@pytest.mark.parametrize(
    "kind, message", [("heatmap", "This scan has no heatmap."), ("dicom", "This X-ray was not uploaded as DICOM.")]
)
def test_a_file_the_scan_lacks_is_a_404_on_both_paths_and_nothing_is_recorded(client, ask, kind, message):
    scan = ScanFactory(done=True)

    response, via = ask(client, scan.owner, kind, scan)

    assert response.status_code == 404
    assert not via or response.json() == {"detail": message}
    assert not AuditEvent.objects.filter(action="downloaded").exists()
