"""Responses that hand a stored or generated file to the one user allowed to have it."""

from __future__ import annotations

import io

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

PNG = "image/png"
DICOM = "application/dicom"
PDF = "application/pdf"
ZIP = "application/zip"
# Medical files: browsers and proxies must not keep a copy.
NOT_KEPT = "private, no-store"


def private_file(field_file, filename: str, content_type: str = PNG, *, as_attachment: bool = False):
    """Hand over a stored file after the caller's access check: a redirect to a short-lived signed link
    where the storage makes one (S3), else the file streamed. A missing file is a 404, not an error."""
    # Asked of the storage, not its class: boto3 is installed only where a bucket is used (prod.txt).
    if hasattr(field_file.storage, "signed_download_url"):
        return _redirect_to_signed_link(field_file, filename, content_type, as_attachment)
    return _streamed(field_file, filename, content_type, as_attachment)


def generated_file(data, filename: str, content_type: str) -> FileResponse:
    """A file made for this request (a report, an export), bytes or an open binary file, as an attachment."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return _private(FileResponse(stream, content_type=content_type, filename=filename, as_attachment=True))


def generated_document(text: str, filename: str, content_type: str) -> HttpResponse:
    """A small document made for this request (a JSON report), whole in the response, as an attachment."""
    response = HttpResponse(text, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return _private(response)


def _streamed(field_file, filename: str, content_type: str, as_attachment: bool) -> FileResponse:
    try:
        stream = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError as error:
        raise Http404("The stored file is missing.") from error
    response = FileResponse(stream, content_type=content_type, filename=filename, as_attachment=as_attachment)
    return _private(response)


def _redirect_to_signed_link(field_file, filename: str, content_type: str, as_attachment: bool):
    storage = field_file.storage
    # One HEAD request to the bucket keeps a missing file this portal's 404 rather than the bucket's
    # XML error; it costs milliseconds, where streaming held the web process for the whole transfer.
    if not storage.exists(field_file.name):
        raise Http404("The stored file is missing.")
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition_header(as_attachment, filename),
        "Cache-Control": NOT_KEPT,
    }
    response = HttpResponseRedirect(
        storage.signed_download_url(field_file.name, headers, settings.PRIVATE_FILE_URL_SECONDS)
    )
    # Which page a file was opened from is none of the bucket's business.
    response["Referrer-Policy"] = "no-referrer"
    return _private(response)


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = NOT_KEPT
    response["X-Content-Type-Options"] = "nosniff"  # nor may browsers guess another type
    return response
