"""A stored X-ray is reachable only through the permission-checked file views: no path under the media,
static or any other URL serves it, whatever the spelling. Who may use the file views is the access
matrix's business (tests/test_access_matrix.py)."""

import pytest
from django.test import override_settings
from django.urls import reverse

from scans.models import Scan
from tests.factories import ScanFactory, private_media  # noqa: F401


@pytest.fixture
def owner_and_name(client, db, settings):
    # Where a media route, if one were added, would serve from: the folder the files are stored in.
    settings.MEDIA_ROOT = settings.STORAGES["default"]["OPTIONS"]["location"]
    scan = ScanFactory(dicom=True)
    client.force_login(scan.owner)
    return client, scan.image.name, scan.dicom_file.name


@pytest.mark.parametrize(
    "url",
    [
        "/media/{name}",
        "/{name}",
        "/static/{name}",
        "/static/../media/{name}",
        "/static/%2e%2e/media/{name}",
        "/static/..%2fmedia/{name}",
        "/var/media/{name}",
        "/scans/{name}",
    ],
)
@override_settings(MEDIA_URL="/media/")
def test_no_url_but_the_file_views_serves_a_stored_file(owner_and_name, url):
    client, image, dicom = owner_and_name
    for name in (image, dicom):
        response = client.get(url.format(name=name))

        assert response.status_code == 404, url.format(name=name)


def test_the_owner_gets_the_file_through_the_view(owner_and_name):
    """The refusals above are about the URL: the file itself is there for its owner."""
    client, image, _ = owner_and_name
    scan_id = Scan.objects.get(image=image).pk

    response = client.get(reverse("scans:image", args=[scan_id]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
