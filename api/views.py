"""The REST API's endpoints: thin views over the same access helpers and services as the web pages."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import MethodNotAllowed, ParseError, Throttled
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from accounts.mfa import has_second_factor, must_use_mfa
from accounts.models import ApiToken
from actions.reviews import sign_review
from actions.scans import OverQuota, get_scan_for, show_scan, upload_scan, with_accession_number
from api.permissions import IsRadiologist
from api.serializers import (
    CredentialsSerializer,
    ErrorSerializer,
    PatientSerializer,
    ReviewInputSerializer,
    ReviewSerializer,
    ScanSerializer,
    TokenSerializer,
    UploadSerializer,
    WorklistCaseSerializer,
)
from audit.services import Action, record, record_many
from hospitals.downloads import (
    fhir_report_file,
    heatmap_capture_file,
    reading_for_download,
    structured_report_file,
)
from hospitals.models import DicomOrigin
from hospitals.scan_results import FHIR_JSON
from patients.models import Patient
from reviews import services as reviews
from reviews.worklist import REASONS, worklist
from scans.downloads import DICOM, PDF, PNG
from scans.models import Scan
from scans.scan_files import download

# Ids are never negative; saying so keeps generated requests on real URLs.
SCAN_ID = {"type": "integer", "minimum": 0}
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such scan, or not one this user may see.")
NO_SUCH_PAGE = OpenApiResponse(ErrorSerializer, description="No such page of results.")
FIELD_ERRORS = OpenApiResponse(OpenApiTypes.OBJECT, description="A list of messages for each field at fault.")
UPLOAD_QUOTA = OpenApiResponse(
    ErrorSerializer, description="The hourly upload allowance is used up; Retry-After says when to try again."
)


WORKLIST_REASONS = tuple(REASONS)
WORKLIST_CLAIMS = ("unclaimed", "mine", "others")


class StrictRequests:
    """Refuse what the schema does not describe, before anything else: an undeclared method is a 405
    (even where a permission would answer 404), and an unknown query parameter or a value outside a
    parameter's choices is a 400, instead of being silently ignored (a typo'd filter must not look like
    an empty result)."""

    query_parameters: dict[str, tuple[str, ...] | None] = {}  # name: allowed values, None for any

    def initial(self, request, *args, **kwargs):
        if request.method not in self._allowed_methods():
            raise MethodNotAllowed(request.method)
        unknown = sorted(set(request.query_params) - set(self.query_parameters))
        if unknown:
            accepted = ", ".join(sorted(self.query_parameters)) or "none"
            raise ParseError(f"Unknown query parameter(s): {', '.join(unknown)}. This endpoint accepts: {accepted}.")
        for name, allowed in self.query_parameters.items():
            if allowed and name in request.query_params and request.query_params[name] not in allowed:
                raise ParseError(f"The query parameter {name} must be one of: {', '.join(allowed)}.")
        # DRF's paginator reads an empty page as the first one; the schema says a page is a number.
        if "page" in request.query_params and not request.query_params["page"].isdecimal():
            raise ParseError("The query parameter page must be a page number: 1, 2, ...")
        super().initial(request, *args, **kwargs)


class ObtainToken(StrictRequests, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle, ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        request=CredentialsSerializer,
        responses={201: TokenSerializer, 400: FIELD_ERRORS},
        summary="Make an API token from an email address and password, and the code of a second factor",
        description="An account with a second factor (an authenticator app or a security key) sends `code` too; "
        "staff and radiologists must have one. A wrong password and a missing or wrong code get the same 400.",
        tags=["auth"],
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        if must_use_mfa(user) and not has_second_factor(user):  # they need one everywhere, as on the web
            message = (
                "Staff and radiologists set up a second factor first (log in on the web), then send its code here."
            )
            return Response({"non_field_errors": [message]}, status=status.HTTP_400_BAD_REQUEST)
        if refusal := ApiToken.refusal(user):
            return Response({"non_field_errors": [refusal]}, status=status.HTTP_400_BAD_REQUEST)
        name = credentials.validated_data.get("name") or "Made through the API"
        _, key = ApiToken.issue(user, name)
        return Response({"token": key}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["patients"])
class PatientList(StrictRequests, generics.ListCreateAPIView):
    """The account's profiles: one per person whose X-rays it uploads."""

    query_parameters = {"page": None}
    serializer_class = PatientSerializer
    parser_classes = [JSONParser]

    def get_queryset(self):
        return Patient.objects.of(self.request.user)

    @extend_schema(
        summary="The account's patient profiles", responses={200: PatientSerializer(many=True), 404: NO_SUCH_PAGE}
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Add a patient profile (a child, or the account holder)",
        responses={201: PatientSerializer, 400: FIELD_ERRORS},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def perform_create(self, serializer):
        serializer.save(owner=self.request.user)


@extend_schema(tags=["scans"])
class ScanList(StrictRequests, generics.ListCreateAPIView):
    query_parameters = {"page": None, "accession_number": None}
    serializer_class = ScanSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        # Own scans and the studies of the sites one reads; other radiologists' work is on the worklist.
        scans = Scan.objects.of_account_or_sites_read_by(self.request.user)
        accession_number = self.request.query_params.get("accession_number")
        if accession_number is not None:
            scans = with_accession_number(scans, accession_number.strip())
        return scans.with_latest_prediction()

    @extend_schema(
        summary="Your X-rays, and the studies of the sites you read for, newest first",
        parameters=[
            OpenApiParameter(
                "accession_number",
                str,
                description="Only the scans with this Accession Number: the site's, or that of your own DICOM upload.",
            )
        ],
        responses={200: ScanSerializer(many=True), 404: NO_SUCH_PAGE},
    )
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        audit_site_identifiers_shown(request, response.data.get("results", []))
        return response

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={201: ScanSerializer, 400: FIELD_ERRORS, 429: UPLOAD_QUOTA},
        summary="Upload a chest X-ray (JPEG, PNG or DICOM) for a computer reading",
    )
    def post(self, request, *args, **kwargs):
        upload = UploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        try:
            scan = upload_scan(request.user, upload.validated_data["image"], upload.clinical_context())
        except OverQuota as refusal:
            raise Throttled(wait=refusal.retry_after, detail=refusal.reason) from None
        return Response(ScanSerializer(scan, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["scans"],
    parameters=[OpenApiParameter("id", SCAN_ID, OpenApiParameter.PATH)],
    responses={200: ScanSerializer, 404: NOT_FOUND},
)
class ScanDetail(StrictRequests, generics.RetrieveDestroyAPIView):
    serializer_class = ScanSerializer

    def get_object(self):
        # Deleting is the owner's alone, as on the web.
        return get_scan_for(self.request, self.kwargs["pk"], owner_only=self.request.method == "DELETE")

    @extend_schema(summary="One X-ray: its status, the computer reading, the radiologist's review, links")
    def get(self, request, *args, **kwargs):
        scan = show_scan(request, self.kwargs["pk"], shown_on="api")  # the accession number too
        return Response(self.get_serializer(scan).data)

    @extend_schema(summary="Delete an X-ray, its readings and its files", responses={204: None, 404: NOT_FOUND})
    def delete(self, request, *args, **kwargs):
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, scan):
        pk = scan.pk
        scan.delete_with_files()
        record(self.request, Action.DELETED, object_type="scan", object_id=pk, scan_id=pk, detail="api")


def audit_site_identifiers_shown(request, scans_shown) -> None:
    """A site's accession numbers are its patients' identifiers: each one shown is in the audit log."""
    site_scans = [scan["id"] for scan in scans_shown if scan.get("site")]
    shown = DicomOrigin.objects.filter(scan_id__in=site_scans).only("pk", "scan_id")
    record_many(request, Action.VIEWED, shown, detail="api: accession number listed")


class ScanFile(StrictRequests, APIView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is the file whatever the client accepts (curl -H "Accept: application/pdf" must work);
        # errors still come as JSON.
        return super().perform_content_negotiation(request, force=True)

    kind = ""  # one of scans.scan_files.KINDS, handed over as the web hands it

    def file_response(self, scan: Scan):
        return download(self.request, scan, self.kind, via="api")

    def get(self, request, pk: int):
        return self.file_response(get_scan_for(request, pk))


SIGNED_REDIRECT = OpenApiResponse(
    description="Where files are kept in S3: a redirect (Location) to a signed link to the file in the bucket, "
    "valid for PRIVATE_FILE_URL_SECONDS."
)


def file_schema(media_type: str, summary: str, *, stored: bool = True):
    """A file answer; a stored file (not one made for the request) may be a redirect to the bucket."""
    responses = {(200, media_type): OpenApiTypes.BINARY, 404: NOT_FOUND}
    if stored:
        responses[302] = SIGNED_REDIRECT
    return extend_schema(
        tags=["scans"],
        summary=summary,
        parameters=[OpenApiParameter("id", SCAN_ID, OpenApiParameter.PATH)],
        responses=responses,
    )


@file_schema(PNG, "The X-ray as the model read it (PNG)")
class ScanImage(ScanFile):
    kind = "image"


@file_schema(PNG, "The heatmap of the areas that influenced the reading most (PNG, transparent)")
class ScanHeatmap(ScanFile):
    kind = "heatmap"


@file_schema(DICOM, "The de-identified DICOM file, for X-rays uploaded as DICOM")
class ScanDicom(ScanFile):
    kind = "dicom"


@file_schema(PDF, "The report: thumbnails, the computer reading, the radiologist's review (PDF)", stored=False)
class ScanReport(ScanFile):
    kind = "report"


NO_READING = OpenApiResponse(ErrorSerializer, description="No such scan, not one this user may see, or no reading yet.")


def result_schema(media_type: str, summary: str):
    return extend_schema(
        tags=["scans"],
        summary=summary,
        parameters=[OpenApiParameter("id", SCAN_ID, OpenApiParameter.PATH)],
        responses={
            (200, media_type): OpenApiTypes.BINARY if media_type == DICOM else OpenApiTypes.OBJECT,
            404: NO_READING,
        },
    )


class ScanResult(ScanFile):
    """The reading in a hospital's format, built on request from the reading this user may see."""

    def file_response(self, scan):
        reading = reading_for_download(self.request, scan, f"api: {self.what}")
        if reading is None:
            return Response({"detail": "This scan has no reading yet."}, status=status.HTTP_404_NOT_FOUND)
        return self.result_response(scan, reading)


@result_schema(DICOM, "The reading as a DICOM Comprehensive SR (TID 1500), in the X-ray's study")
class ScanDicomSR(ScanResult):
    what = "DICOM SR"

    def result_response(self, scan, reading):
        return structured_report_file(scan, reading)


@result_schema(DICOM, "The heatmap over the X-ray as a DICOM Secondary Capture, in the X-ray's study")
class ScanDicomHeatmap(ScanResult):
    what = "DICOM heatmap"

    def result_response(self, scan, reading):
        if not reading.heatmap:
            return Response({"detail": "This scan has no heatmap."}, status=status.HTTP_404_NOT_FOUND)
        return heatmap_capture_file(scan, reading)


@result_schema(FHIR_JSON, "The reading as a FHIR R4 DiagnosticReport with its Observations")
class ScanFhir(ScanResult):
    what = "FHIR DiagnosticReport"

    def result_response(self, scan, reading):
        return fhir_report_file(self.request, scan, reading)


@extend_schema(
    tags=["worklist"],
    summary="Cases waiting for a radiologist, most urgent first (radiologists only)",
    parameters=[
        OpenApiParameter("reason", enum=WORKLIST_REASONS, description="Why it waits."),
        OpenApiParameter("claim", enum=WORKLIST_CLAIMS, description="Who holds it."),
    ],
    responses={
        200: WorklistCaseSerializer(many=True),
        404: OpenApiResponse(ErrorSerializer, "Not a radiologist, or no such page of results."),
    },
)
class Worklist(StrictRequests, generics.ListAPIView):
    permission_classes = [IsAuthenticated, IsRadiologist]
    serializer_class = WorklistCaseSerializer
    query_parameters = {"page": None, "reason": WORKLIST_REASONS, "claim": WORKLIST_CLAIMS}

    def get_queryset(self):
        params = self.request.query_params
        return worklist(self.request.user, reason=params.get("reason", ""), claim=params.get("claim", "")).cases


class ReviewCreate(StrictRequests, APIView):
    permission_classes = [IsAuthenticated, IsRadiologist]

    @extend_schema(
        tags=["worklist"],
        summary="Sign the review of a waiting case (radiologists only); it claims the case first",
        request=ReviewInputSerializer,
        parameters=[OpenApiParameter("scan_id", SCAN_ID, OpenApiParameter.PATH)],
        responses={
            201: ReviewSerializer,
            400: FIELD_ERRORS,
            404: NOT_FOUND,
            409: OpenApiResponse(ErrorSerializer, "Another radiologist holds the case, or it needs no review."),
        },
    )
    def post(self, request, scan_id: int):
        scan = get_scan_for(request, scan_id)
        fields = ReviewInputSerializer(data=request.data)
        fields.is_valid(raise_exception=True)
        try:
            review = claim_and_review(request, scan, fields.validated_data)
        except reviews.ClaimNotHeld as refusal:
            return Response({"detail": str(refusal)}, status=status.HTTP_409_CONFLICT)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


def claim_and_review(request, scan: Scan, fields: dict):
    """The web's two steps in one: an API client has no case page to hold while the radiologist reads."""
    if not reviews.claim(scan.pk, request.user):
        raise reviews.ClaimNotHeld("Another radiologist is reviewing this case, or it needs no review.")
    record(request, Action.CLAIMED, scan, detail="api")
    review = sign_review(scan, request.user, **fields)
    record(request, Action.REVIEWED, review, detail=review.finding)
    return review


@csrf_exempt  # it changes nothing; without this a POST got Django's HTML CSRF page instead of the 404
def not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "No such endpoint."}, status=404)
