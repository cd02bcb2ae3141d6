"""DICOMweb STOW-RS (PS3.18 10.5) for hospitals: a site's systems store instances with
`POST /dicomweb/studies`, a multipart/related body of application/dicom parts, authenticated by the API
token of the site's service account. Each instance takes the C-STORE listener's path (hospitals.intake);
the answer is the standard DICOM JSON of what was stored and what failed, and why."""

from __future__ import annotations

from email import errors
from email.parser import BytesParser
from email.policy import HTTP

from django.conf import settings
from drf_spectacular.utils import extend_schema
from pydicom import Dataset
from rest_framework import status
from rest_framework.exceptions import ParseError, PermissionDenied, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ApiTokenAuthentication
from api.dicomweb_answers import DicomJSONRenderer, ProblemAnswers
from api.request_body import BodyDeadline
from hospitals.intake import Refused, original_identifiers, receive
from hospitals.models import DicomOrigin

DICOM_PART = "application/dicom"
# Why a multipart body is not whole, as the email parser finds it; anything it finds is refused.
BROKEN_BODY = (
    (errors.NoBoundaryInMultipartDefect, "The Content-Type names no boundary; the parts cannot be told apart."),
    (errors.StartBoundaryNotFoundDefect, "The body holds no parts: its opening boundary was not found."),
    (errors.CloseBoundaryNotFoundDefect, "The body ends before its closing boundary: it was cut short."),
)


class MultipartRelatedParser(BaseParser):
    """multipart/related; type="application/dicom": a list of each part's bytes, in order. The body is read
    through the view's deadline (DRF calls this only for a body of some length)."""

    media_type = "multipart/related"

    def parse(self, stream, media_type=None, parser_context=None):
        body_deadline = parser_context["view"].body_deadline
        limit = settings.STOW_MAX_REQUEST_BYTES
        if body_deadline.declared > limit:
            raise RequestTooLarge(limit)
        body = body_deadline.read(limit + 1)
        if len(body) > limit:
            raise RequestTooLarge(limit)
        return dicom_parts(body, media_type)


def dicom_parts(body: bytes, media_type: str) -> list[bytes]:
    """Each part's bytes, or ParseError for a body that is not a whole multipart message with parts."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {media_type}\r\n\r\n".encode() + body)
    for defect, reason in BROKEN_BODY:
        if any(isinstance(found, defect) for found in message.defects):
            raise ParseError(f"{reason} Nothing was stored.")
    parts = list(message.iter_parts()) if message.is_multipart() and not message.defects else []
    if not parts:
        raise ParseError("The body is not a multipart/related message with parts. Nothing was stored.")
    wrong = [part.get_content_type() for part in parts if part.get_content_type() != DICOM_PART]
    if wrong:
        raise UnsupportedMediaType(wrong[0], detail=f"Each part must be {DICOM_PART}, not {wrong[0]}.")
    return [part.get_payload(decode=True) or b"" for part in parts]


class RequestTooLarge(ParseError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int):
        super().__init__(f"The request is larger than {limit} bytes; send fewer instances at a time.")


@extend_schema(exclude=True)  # DICOMweb is its own standard (PS3.18), not part of this API's schema
class StoreInstances(ProblemAnswers, APIView):
    authentication_classes = [ApiTokenAuthentication]
    parser_classes = [MultipartRelatedParser]
    renderer_classes = [DicomJSONRenderer]

    def initial(self, request, *args, **kwargs):
        # From the start, before the token is checked: an unauthenticated body that never comes is bounded too.
        self.body_deadline = BodyDeadline(request._request, settings.STOW_BODY_SECONDS)
        super().initial(request, *args, **kwargs)

    def post(self, request, study_uid: str | None = None):
        site = _site_of(request.user)
        media_type = request.content_type.split(";")[0].strip().lower()
        if media_type != "multipart/related":
            raise UnsupportedMediaType(media_type, detail='Send multipart/related; type="application/dicom".')
        parts = request.data
        if not isinstance(parts, list):  # DRF does not parse an empty body: there is nothing to store
            raise ParseError("The body is empty: it holds no instances. Nothing was stored.")
        stored, failed = [], []
        for part in parts:
            _store_one(part, site, study_uid, stored, failed)
        body = Dataset()
        if stored:
            body.ReferencedSOPSequence = stored
        if failed:
            body.FailedSOPSequence = failed
        return Response(body.to_json_dict(), status=_status(stored, failed))

    def finalize_response(self, request, response, *args, **kwargs):
        deadline = getattr(self, "body_deadline", None)
        if deadline is not None:
            deadline.finish(too_large=deadline.declared > settings.STOW_MAX_REQUEST_BYTES)
        return super().finalize_response(request, response, *args, **kwargs)


def _site_of(user):
    site = getattr(user, "service_site", None)
    if site is None:
        raise PermissionDenied("This token is not a site's service account: STOW-RS is for hospitals' systems.")
    if not site.is_active:
        raise PermissionDenied("This site is inactive.")
    return site


def _store_one(part: bytes, site, study_uid: str | None, stored: list, failed: list) -> None:
    """Receive one part; its reference goes to the stored or the failed list of the answer."""
    reference = Dataset()
    try:
        received = receive(part, site=site, via=DicomOrigin.Via.STOW_RS)
    except Refused as refusal:
        reference.ReferencedSOPClassUID, reference.ReferencedSOPInstanceUID = _uids_of(part)
        reference.FailureReason = refusal.status
        failed.append(reference)
        return
    origin = received.origin
    if study_uid and origin.study_instance_uid != study_uid:  # stored, but not where the URL said
        reference.WarningReason = 0xB000
    reference.ReferencedSOPClassUID = origin.sop_class_uid
    reference.ReferencedSOPInstanceUID = origin.sop_instance_uid
    stored.append(reference)


def _uids_of(part: bytes) -> tuple[str, str]:
    try:
        identifiers = original_identifiers(part)
    except Refused:
        return "", ""
    return identifiers["sop_class_uid"], identifiers["sop_instance_uid"]


def _status(stored: list, failed: list) -> int:
    if not failed:
        return status.HTTP_200_OK
    if not stored:
        return status.HTTP_409_CONFLICT
    return status.HTTP_202_ACCEPTED
