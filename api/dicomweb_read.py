"""DICOMweb read (PS3.18) for the de-identified copies: QIDO-RS searches of studies, series and instances, and
WADO-RS retrieval of instances, metadata, frames and a rendered picture. Token or browser session; a user sees
exactly the scans every other page shows them (actions.dicomweb_access), and each read is audited there."""

from __future__ import annotations

import datetime
import re
import uuid

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from pydicom import Dataset
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotAcceptable, NotFound, ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from actions import dicomweb_access
from actions.dicomweb_access import MAX_RESULTS, StudyQuery
from api.authentication import ApiTokenAuthentication
from api.dicomweb_answers import DICOM_JSON, DicomJSONRenderer, ProblemAnswers
from scans import dicom_serving
from scans.dicom_serving import NoSuchFrame, Window

EXPLICIT_VR_LITTLE_ENDIAN = dicom_serving.EXPLICIT_VR_LITTLE_ENDIAN
UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
DATE = re.compile(r"^\d{8}$")
# Matching keys by keyword or tag, as PS3.18 allows either.
KEYS = {
    "StudyInstanceUID": "0020000D", "PatientID": "00100020", "AccessionNumber": "00080050", "StudyDate": "00080020",
}  # fmt: skip
MAX_FRAMES_PER_REQUEST = 64
URL_UIDS = {"study_uid": "StudyInstanceUID", "series_uid": "SeriesInstanceUID", "sop_uid": "SOPInstanceUID"}


class AnyAccept(BaseContentNegotiation):
    """Each view answers its own media types (and a 406 for others) itself: DRF's negotiation would refuse a
    multipart or image Accept header before the view could."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request, parsers):
        return None


@extend_schema(exclude=True)  # DICOMweb is its own standard (PS3.18), not part of this API's schema
class DicomwebRead(ProblemAnswers, APIView):
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]  # GET only: no CSRF to forge
    renderer_classes = [DicomJSONRenderer]
    content_negotiation_class = AnyAccept
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "dicomweb"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        for name, keyword in URL_UIDS.items():
            if kwargs.get(name) is not None:
                checked_uid(kwargs[name], keyword)


def checked_uid(value: str, name: str) -> str:
    if len(value) > 64 or not UID.match(value):
        raise ParseError(f"The {name} '{value[:80]}' is not a UID: digits and dots, at most 64 characters.")
    return value


# --- QIDO-RS ---------------------------------------------------------------------------------------------


class SearchStudies(DicomwebRead):
    def get(self, request):
        json_accepted(request)
        query = study_query(request.query_params)
        rows = dicomweb_access.search_studies(request, query)
        return Response([study_json(request, row, query) for row in rows])


class SearchSeries(DicomwebRead):
    """…/studies/{study}/series, or /series: every series of the studies the study keys match."""

    def get(self, request, study_uid=None):
        json_accepted(request)
        query = study_query(request.query_params, with_study_keys=study_uid is None)
        rows = dicomweb_access.search_series(request, study_uid, query)
        return Response([series_json(request, row) for row in rows])


class SearchInstances(DicomwebRead):
    """…/series/{series}/instances, …/studies/{study}/instances, or /instances across the matching studies."""

    def get(self, request, study_uid=None, series_uid=None):
        json_accepted(request)
        query = study_query(request.query_params, with_study_keys=study_uid is None)
        instances = dicomweb_access.search_instances(request, study_uid, series_uid, query)
        return Response([instance_json(request, instance) for instance in instances])


def study_query(params, *, with_study_keys: bool = True) -> StudyQuery:
    """The search's keys, checked: a value that cannot match anything is a 400 saying why, not an empty list."""
    value = {keyword: (params.get(keyword) or params.get(tag) or "").strip() for keyword, tag in KEYS.items()}
    limit = _count(params.get("limit"), "limit", minimum=1, default=MAX_RESULTS)
    fields = {"limit": min(limit, MAX_RESULTS), "offset": _count(params.get("offset"), "offset", minimum=0, default=0)}
    if not with_study_keys:
        return StudyQuery(**fields)
    if value["StudyInstanceUID"]:
        checked_uid(value["StudyInstanceUID"], "StudyInstanceUID")
    if len(value["PatientID"]) > 64 or "\\" in value["PatientID"]:
        raise ParseError("PatientID is at most 64 characters, without a backslash.")
    if len(value["AccessionNumber"]) > 16 or "\\" in value["AccessionNumber"]:
        raise ParseError("AccessionNumber is at most 16 characters, without a backslash.")
    date_from, date_to = date_range(value["StudyDate"])
    return StudyQuery(
        study_instance_uid=value["StudyInstanceUID"], patient_id=value["PatientID"],
        accession_number=value["AccessionNumber"], date_from=date_from, date_to=date_to, **fields,
    )  # fmt: skip


def _count(raw: str | None, name: str, *, minimum: int, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()) or int(raw) < minimum:
        raise ParseError(f"{name} must be a whole number from {minimum}, not '{raw[:40]}'.")
    return int(raw)


def date_range(raw: str) -> tuple[datetime.date | None, datetime.date | None]:
    """StudyDate as DICOM matches it: one date (YYYYMMDD) or a range (either end may be left open)."""
    if not raw:
        return None, None
    low, dash, high = raw.partition("-")
    if not dash:
        high = low
    if (not low and not high) or not all(DATE.match(part) for part in (low, high) if part):
        raise ParseError(f"StudyDate '{raw[:40]}' is not YYYYMMDD or a range YYYYMMDD-YYYYMMDD.")
    try:
        start, end = (datetime.datetime.strptime(part, "%Y%m%d").date() if part else None for part in (low, high))
    except ValueError:
        raise ParseError(f"StudyDate '{raw[:40]}' names a day that does not exist.") from None
    if start and end and start > end:
        raise ParseError(f"StudyDate '{raw[:40]}' ends before it starts.")
    return start, end


def _dicom_date_time(moment) -> tuple[str, str]:
    local = timezone.localtime(moment)
    return local.strftime("%Y%m%d"), local.strftime("%H%M%S")


def study_json(request, row: dict, query: StudyQuery) -> dict:
    study = Dataset()
    study.StudyInstanceUID = row["study_instance_uid"]
    study.StudyDate, study.StudyTime = _dicom_date_time(row["received_at"])
    # A site's own accession number is answered only to one who searched by it: nothing new is shown.
    study.AccessionNumber = query.accession_number
    study.PatientID = row["patient_id"]
    study.PatientName = ""
    study.ModalitiesInStudy = row["modalities"]
    study.NumberOfStudyRelatedSeries = row["series"]
    study.NumberOfStudyRelatedInstances = row["instances"]
    study.RetrieveURL = request.build_absolute_uri(f"/dicomweb/studies/{row['study_instance_uid']}")
    return study.to_json_dict()


def series_json(request, row: dict) -> dict:
    series = Dataset()
    series.StudyInstanceUID = row["study_instance_uid"]
    series.SeriesInstanceUID = row["series_instance_uid"]
    series.Modality = row["modality"]
    series.SeriesNumber = row["series_number"]
    series.NumberOfSeriesRelatedInstances = row["instances"]
    series.RetrieveURL = request.build_absolute_uri(
        f"/dicomweb/studies/{row['study_instance_uid']}/series/{row['series_instance_uid']}"
    )
    return series.to_json_dict()


def instance_json(request, instance) -> dict:
    found = Dataset()
    found.StudyInstanceUID = instance.study_instance_uid
    found.SeriesInstanceUID = instance.series_instance_uid
    found.SOPClassUID = instance.sop_class_uid
    found.SOPInstanceUID = instance.sop_instance_uid
    found.Modality = instance.modality
    found.InstanceNumber = instance.instance_number
    found.Rows, found.Columns = instance.rows, instance.columns
    found.BitsAllocated = instance.bits_allocated
    found.NumberOfFrames = instance.number_of_frames
    found.RetrieveURL = request.build_absolute_uri(dicomweb_access.instance_path(instance))
    return found.to_json_dict()


# --- WADO-RS ---------------------------------------------------------------------------------------------


class RetrieveInstances(DicomwebRead):
    """…/studies/{study}, …/series/{series}, …/instances/{sop}: the Part 10 files, multipart/related."""

    def get(self, request, study_uid, series_uid=None, sop_uid=None):
        syntaxes = dicom_transfer_syntaxes(request)
        instances = dicomweb_access.retrieve(request, study_uid, series_uid, sop_uid, what="instances")
        parts = []
        for instance in instances:
            served = dicom_serving.part10(dicom_serving.served_dataset(instance, with_pixels=True), syntaxes)
            if served is None:
                raise NotAcceptable(
                    "The instance is stored compressed and the request accepts neither its transfer syntax nor "
                    f"{EXPLICIT_VR_LITTLE_ENDIAN}; ask with transfer-syntax=*."
                )
            data, syntax = served
            parts.append((data, f"application/dicom; transfer-syntax={syntax}"))
        return multipart(parts, "application/dicom")


class RetrieveMetadata(DicomwebRead):
    def get(self, request, study_uid, series_uid=None, sop_uid=None):
        json_accepted(request)
        instances = dicomweb_access.retrieve(request, study_uid, series_uid, sop_uid, what="metadata")
        return Response([dicom_serving.metadata(instance) for instance in instances])


class RetrieveFrames(DicomwebRead):
    def get(self, request, study_uid, series_uid, sop_uid, frames):
        numbers = frame_numbers(frames)
        octet_stream_accepted(request)
        (instance,) = dicomweb_access.retrieve(request, study_uid, series_uid, sop_uid, what=f"frames {frames[:40]}")
        dataset = dicom_serving.served_dataset(instance, with_pixels=True)
        try:
            parts = [(dicom_serving.frame(dataset, number), OCTET_STREAM_PART) for number in numbers]
        except NoSuchFrame as missing:
            raise NotFound(str(missing)) from None
        return multipart(parts, "application/octet-stream")


class RetrieveRendered(DicomwebRead):
    def get(self, request, study_uid, series_uid, sop_uid):
        image_format, media_type = rendered_type(request)
        window = window_of(request.query_params.get("window"))
        (instance,) = dicomweb_access.retrieve(request, study_uid, series_uid, sop_uid, what="rendered")
        dataset = dicom_serving.served_dataset(instance, with_pixels=True)
        data = dicom_serving.rendered(dataset, image_format=image_format, window=window)
        return HttpResponse(data, content_type=media_type)


OCTET_STREAM_PART = f"application/octet-stream; transfer-syntax={EXPLICIT_VR_LITTLE_ENDIAN}"


def frame_numbers(raw: str) -> list[int]:
    numbers = raw.split(",")
    if len(numbers) > MAX_FRAMES_PER_REQUEST or not all(re.fullmatch(r"\d{1,9}", number) for number in numbers):
        raise ParseError(f"Frames are numbers from 1, separated by commas (at most {MAX_FRAMES_PER_REQUEST}).")
    if any(int(number) < 1 for number in numbers):
        raise ParseError("Frames are numbered from 1: there is no frame 0.")
    return [int(number) for number in numbers]


def window_of(raw: str | None) -> Window | None:
    """?window=center,width,function (PS3.18 8.3.5.1.4); only the linear functions are drawn."""
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        center, width = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        raise ParseError("window is center,width,function, e.g. window=2048,4096,linear.") from None
    function = parts[2].strip().lower() if len(parts) > 2 else "linear"
    if len(parts) > 3 or function not in ("linear", "linear-exact") or not width > 0:
        raise ParseError("window's width must be above 0 and its function linear or linear-exact.")
    return Window(center, width)


# --- Media types -----------------------------------------------------------------------------------------


def accepted(request) -> list[tuple[str, dict]]:
    """The Accept header's media ranges with their parameters, in order; none means anything."""
    header = request.META.get("HTTP_ACCEPT", "").strip()
    if not header:
        return [("*/*", {})]
    ranges = []
    for item in re.split(r",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", header):
        media_type, *params = [part.strip() for part in item.split(";")]
        values = dict(param.partition("=")[::2] for param in params if "=" in param)
        ranges.append(
            (media_type.lower(), {key.strip().lower(): value.strip().strip('"') for key, value in values.items()})
        )
    return ranges


def json_accepted(request) -> None:
    if not any(media in ("*/*", "application/*", DICOM_JSON, "application/json") for media, _ in accepted(request)):
        raise NotAcceptable(f"This resource answers {DICOM_JSON}.")


def _covering(part_type: str) -> tuple[str, ...]:
    return part_type, "*/*", part_type.split("/")[0] + "/*"


def _multipart_of(request, part_type: str) -> list[dict]:
    return [
        params
        for media, params in accepted(request)
        if media == "*/*"
        or (media == "multipart/related" and params.get("type", part_type).lower() in _covering(part_type))
    ]


def dicom_transfer_syntaxes(request) -> frozenset[str]:
    ranges = _multipart_of(request, "application/dicom")
    if not ranges:
        raise NotAcceptable('Instances are sent as multipart/related; type="application/dicom".')
    return frozenset(params.get("transfer-syntax", EXPLICIT_VR_LITTLE_ENDIAN) for params in ranges)


def octet_stream_accepted(request) -> None:
    syntaxes = {params.get("transfer-syntax", "*") for params in _multipart_of(request, "application/octet-stream")}
    if not syntaxes & {"*", EXPLICIT_VR_LITTLE_ENDIAN}:
        raise NotAcceptable(
            'Frames are sent uncompressed as multipart/related; type="application/octet-stream" '
            f"(transfer-syntax=* or {EXPLICIT_VR_LITTLE_ENDIAN})."
        )


def rendered_type(request) -> tuple[str, str]:
    for media, _ in accepted(request):
        if media in ("*/*", "image/*", "image/png"):
            return "PNG", "image/png"
        if media == "image/jpeg":
            return "JPEG", "image/jpeg"
    raise NotAcceptable("A rendered instance is sent as image/png or image/jpeg.")


def multipart(parts: list[tuple[bytes, str]], part_type: str) -> HttpResponse:
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
        for data, content_type in parts
    )
    body += f"--{boundary}--\r\n".encode()
    return HttpResponse(body, content_type=f'multipart/related; type="{part_type}"; boundary={boundary}')
