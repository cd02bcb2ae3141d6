"""Responses that hand a stored or generated file to the one user allowed to have it."""

from __future__ import annotations

import io

from django.http import FileResponse, Http404

PNG = "image/png"
DICOM = "application/dicom"
PDF = "application/pdf"
ZIP = "application/zip"


def private_file(field_file, filename: str, content_type: str = PNG) -> FileResponse:
    """Stream a stored file; a missing one is a 404 rather than a server error."""
    try:
        stream = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError as error:
        raise Http404("The stored file is missing.") from error
    return _private(FileResponse(stream, content_type=content_type, filename=filename))


def generated_file(data, filename: str, content_type: str) -> FileResponse:
    """A file made for this request (a report, an export), bytes or an open binary file, as an attachment."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return _private(FileResponse(stream, content_type=content_type, filename=filename, as_attachment=True))


def _private(response: FileResponse) -> FileResponse:
    # Medical files: browsers and proxies must not keep a copy, nor guess another type.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
