"""The staff page's zip of reference films: stored, imported by the worker's function, progress shown;
hostile zips are refused whole with a clear reason and nothing is imported from them."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from adaptation import references
from adaptation.models import ReferenceCase, ReferenceImport
from tests.adaptation.conftest import real_films
from tests.factories import SiteFactory, StaffFactory, private_media  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.django_db
PAGE = reverse("adaptation:page")
UPLOAD = reverse("adaptation:upload")


def zip_bytes(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def films(prefix: str = "") -> dict[str, bytes]:
    return {
        f"{prefix}{label}/{path.name}": path.read_bytes()
        for label in ("NORMAL", "PNEUMONIA")
        for path in real_films(label, 1)
    }


def post_zip(client, data: bytes, site=None, name="films.zip"):
    fields = {"zip": SimpleUploadedFile(name, data, "application/zip"), "site": site.pk if site else ""}
    return client.post(UPLOAD, fields, follow=True)


def test_a_zip_is_stored_imported_by_the_worker_and_its_progress_shown(
    admin_client, django_capture_on_commit_callbacks
):
    site = SiteFactory(name="Hospital B")
    entries = {**films("site-b/"), "site-b/NORMAL/readme.jpeg": b"not a film", "site-b/PNEUMONIA/deeper/x.png": b"x"}
    with django_capture_on_commit_callbacks() as queued:
        response = post_zip(admin_client, zip_bytes(entries), site)

    job = ReferenceImport.objects.get()
    assert len(queued) == 1 and job.site == site and job.films == 4 and job.status == "queued"
    assert b"being imported" in response.content and b"0 of 4 films read" in response.content
    assert b'hx-get="/staff/adaptation/imports/' in response.content  # polled while unfinished

    assert references.run_import(job.pk) == "done"
    assert references.run_import(job.pk) == "skipped"  # a second delivery does nothing
    fragment = admin_client.get(reverse("adaptation:imports"), {"site": site.pk}).content.decode()
    assert ReferenceCase.objects.filter(site=site).count() == 2
    assert "Normal: 1 imported, 0 already there, 1 refused" in fragment
    assert "<code>site-b/NORMAL/readme.jpeg</code>: This file is not a JPEG, PNG or DICOM image" in fragment
    assert "<code>site-b/PNEUMONIA/deeper/x.png</code>: inside a sub-folder" in fragment
    assert "hx-get" not in fragment  # finished: no more polling


def test_the_same_films_zipped_again_count_once(admin_client):
    for _ in range(2):
        post_zip(admin_client, zip_bytes(films()))
        references.run_import(ReferenceImport.objects.order_by("-pk").first().pk)

    assert ReferenceCase.objects.count() == 2
    assert ReferenceImport.objects.order_by("-pk").first().counts["pneumonia"] == {
        "imported": 0, "already": 1, "refused": 0,
    }  # fmt: skip


def bomb() -> bytes:
    return zip_bytes({"NORMAL/a.jpeg": b"\0" * (20 * 1024 * 1024)})


def traversal() -> bytes:
    return zip_bytes({**films(), "NORMAL/../../../etc/cron.d/x.jpeg": b"x"})


def absolute() -> bytes:
    return zip_bytes({**films(), "/NORMAL/x.jpeg": b"x"})


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: b"%PDF-1.4 a document", "not a zip file we can read"),
        (lambda: zip_bytes(films())[:-200], "not a zip file we can read"),  # truncated: no central directory
        (bomb, "looks like a zip bomb"),
        (traversal, "points outside the zip"),
        (absolute, "points outside the zip"),
        (lambda: zip_bytes({"a/b/NORMAL/x.jpeg": b"x", "notes.txt": b"x"}), "holds no films in NORMAL/ or PNEUMONIA/"),
        (lambda: zip_bytes({}), "holds no films in NORMAL/ or PNEUMONIA/"),
    ],
    ids=["not-a-zip", "truncated", "bomb", "traversal", "absolute-path", "nested-too-deep", "empty"],
)
def test_a_hostile_zip_is_refused_whole_with_a_reason(admin_client, make, reason):
    response = post_zip(admin_client, make())

    assert reason in response.content.decode()
    assert not ReferenceImport.objects.exists() and not ReferenceCase.objects.exists()


def test_a_zip_over_the_size_limit_is_refused(admin_client, settings):
    settings.REFERENCE_ZIP_MAX_BYTES = 10_000
    response = post_zip(admin_client, zip_bytes(films()))

    assert "the limit is 9.8 KB" in response.content.decode() and not ReferenceImport.objects.exists()


def test_a_zip_with_too_many_files_is_refused(admin_client, settings):
    settings.REFERENCE_ZIP_MAX_FILMS = 1
    assert "the limit is 1. Split it." in post_zip(admin_client, zip_bytes(films())).content.decode()


def test_an_oversized_or_damaged_film_is_refused_and_the_rest_imported(admin_client, settings):
    settings.SCAN_MAX_UPLOAD_BYTES = 1024 * 1024
    big = b"\xff\xd8" + bytes(range(256)) * 8192  # 2 MB that does not compress away
    entries = {**films(), "NORMAL/huge.jpeg": big}
    data = bytearray(zip_bytes(entries, zipfile.ZIP_STORED))
    post_zip(admin_client, bytes(data))
    references.run_import(ReferenceImport.objects.get().pk)

    job = ReferenceImport.objects.get()
    assert ReferenceCase.objects.count() == 2
    assert [r["name"] for r in job.refused] == ["NORMAL/huge.jpeg"] and "the limit is 1 MB" in job.refused[0]["reason"]


def test_a_film_whose_bytes_fail_their_checksum_is_refused(admin_client):
    entries = films()
    data = bytearray(zip_bytes(entries, zipfile.ZIP_STORED))
    name = next(iter(entries))
    at = data.index(entries[name][:64]) + 5000  # inside the first film's stored bytes
    data[at] ^= 0xFF
    post_zip(admin_client, bytes(data))
    references.run_import(ReferenceImport.objects.get().pk)

    job = ReferenceImport.objects.get()
    assert job.status == "done" and ReferenceCase.objects.count() == 1
    assert job.refused[0]["name"] == name and "could not be read from the zip" in job.refused[0]["reason"]


def test_staff_without_the_permission_cannot_open_the_page_or_import(client):
    staff = StaffFactory()
    client.force_login(staff)

    assert client.get(PAGE).status_code == 403
    assert post_zip(client, zip_bytes(films())).status_code == 403
    assert not ReferenceImport.objects.exists()
