"""DICOMweb STOW-RS (PS3.18 10.5) for hospitals: a site's systems store instances with
`POST /dicomweb/studies`, a multipart/related body of application/dicom parts, authenticated by the API
token of the site's service account. Each instance takes the C-STORE listener's path (hospitals.intake);
the answer is the standard DICOM JSON of what was stored and what failed, and why."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP

from django.conf import settings
from drf_spectacular.utils import extend_schema
from pydicom import Dataset
from rest_framework import status
from rest_framework.exceptions import ParseError, PermissionDenied, UnsupportedMediaType
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import ApiTokenAuthentication
from hospitals.intake import Refused, original_identifiers, receive
from hospitals.models import DicomOrigin

DICOM_PART = "application/dicom"


class DicomJSONRenderer(JSONRenderer):
    media_type = "application/dicom+json"


class MultipartRelatedParser(BaseParser):
    """multipart/related; type="application/dicom": a list of each part's bytes, in order."""

    media_type = "multipart/related"

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        limit = settings.STOW_MAX_REQUEST_BYTES
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > limit:
            raise RequestTooLarge(limit)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(limit)
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {media_type}\r\n\r\n".encode() + body)
        if not message.is_multipart():
            raise ParseError("The body is not multipart/related, or its boundary is missing.")
        parts = list(message.iter_parts())
        if not parts:
            raise ParseError("The body holds no parts.")
        wrong = [part.get_content_type() for part in parts if part.get_content_type() != DICOM_PART]
        if wrong:
            raise UnsupportedMediaType(wrong[0], detail=f"Each part must be {DICOM_PART}, not {wrong[0]}.")
        return [part.get_payload(decode=True) or b"" for part in parts]


class RequestTooLarge(ParseError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int):
        super().__init__(f"The request is larger than {limit} bytes; send fewer instances at a time.")


@extend_schema(exclude=True)  # DICOMweb is its own standard (PS3.18), not part of this API's schema
class StoreInstances(APIView):
    authentication_classes = [ApiTokenAuthentication]
    parser_classes = [MultipartRelatedParser]
    renderer_classes = [DicomJSONRenderer]

    def post(self, request, study_uid: str | None = None):
        site = _site_of(request.user)
        media_type = request.content_type.split(";")[0].strip().lower()
        if media_type != "multipart/related":
            raise UnsupportedMediaType(media_type, detail='Send multipart/related; type="application/dicom".')
        stored, failed = [], []
        for part in request.data:
            _store_one(part, site, study_uid, stored, failed)
        body = Dataset()
        if stored:
            body.ReferencedSOPSequence = stored
        if failed:
            body.FailedSOPSequence = failed
        return Response(body.to_json_dict(), status=_status(stored, failed))


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
