"""What the API reads and writes. Reviews leave only with their patient-facing fields."""

from __future__ import annotations

from allauth.account.utils import has_verified_email
from django.conf import settings
from django.contrib.auth import authenticate
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.mfa import code_is_accepted, has_second_factor
from patients.models import Patient
from reviews.models import Review, ReviewCase
from scans.clinical import Symptom
from scans.models import Prediction, Scan
from scans.services import ClinicalContext
from scans.validation import validate_upload

# One answer for a wrong password, a missing code and a wrong code alike: it tells a code is needed
# without telling a guesser that the password was right, or that the account has a second factor.
WRONG_CREDENTIALS = (
    "Wrong email address, password or code. An account with a second factor also sends `code`: its "
    "authenticator app's code, or an unused recovery code (after several wrong codes, wait a few minutes)."
)


class CredentialsSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    code = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="Required for an account with a second factor (an authenticator app or a security key): "
        "the authenticator app's current code, or one of the account's unused recovery codes (each works once). "
        "Without it, or with a wrong one, the answer is the same 400 as for a wrong password.",
    )
    name = serializers.CharField(
        max_length=100, required=False, help_text="A name for the token, to tell it apart on the account page."
    )

    def validate(self, data):
        request = self.context["request"]._request
        user = authenticate(request, email=data["email"].lower(), password=data["password"])
        if user is None:
            raise serializers.ValidationError(WRONG_CREDENTIALS, code="authorization")
        # A stolen password must not get around the second factor its owner chose (as on the web's login).
        if has_second_factor(user) and not code_is_accepted(request, user, data.get("code", "")):
            raise serializers.ValidationError(WRONG_CREDENTIALS, code="authorization")
        # As on the web: no access before the address is confirmed, where the site requires it.
        if settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory" and not has_verified_email(user):
            raise serializers.ValidationError(
                "Confirm your email address first: follow the link in the email we sent you.", code="unverified"
            )
        data["user"] = user
        return data


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. It is shown only once.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class StrictCharField(serializers.CharField):
    """Text only: DRF's CharField would store the number 0 as "0", which the schema says is not a name."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class PatientSerializer(serializers.ModelSerializer):
    """A person whose X-rays the account uploads; the date of birth gives the age at each X-ray."""

    name = StrictCharField(max_length=80, help_text="A name or a nickname.")
    date_of_birth = serializers.DateField(help_text="YYYY-MM-DD; not in the future.")

    class Meta:
        model = Patient
        fields = ["id", "name", "date_of_birth", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_name(self, name: str) -> str:
        if not name.strip():
            raise serializers.ValidationError("Give a name or a nickname.")
        return name.strip()

    def validate_date_of_birth(self, born):
        if born > timezone.localdate():
            raise serializers.ValidationError("The date of birth cannot be in the future.")
        return born


@extend_schema_field(OpenApiTypes.INT)
class OwnPatientField(serializers.PrimaryKeyRelatedField):
    """A profile of the requesting account; another account's id is "does not exist", as a stranger's is."""

    def get_queryset(self):
        return Patient.objects.of(self.context["request"].user)


class UploadSerializer(serializers.Serializer):
    # Empty files pass here so that validate_upload gives the same message as the web form.
    image = serializers.FileField(allow_empty_file=True, help_text="A chest X-ray: JPEG, PNG or DICOM.")
    patient = OwnPatientField(
        required=False,
        help_text="A profile id of this account (GET /api/v1/patients/); without it, the account's default profile.",
    )
    symptoms = serializers.MultipleChoiceField(
        choices=Symptom.choices, required=False, help_text="Repeat the field for each symptom or danger sign."
    )
    illness_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    breaths_per_minute = serializers.IntegerField(min_value=5, max_value=150, required=False, allow_null=True)

    def validate_image(self, uploaded_file):
        return validate_upload(uploaded_file)  # its ValidationError becomes a 400 with the message

    def clinical_context(self) -> ClinicalContext:
        data, account = self.validated_data, self.context["request"].user
        return ClinicalContext(
            patient=data.get("patient") or Patient.objects.default_for(account),
            symptoms=tuple(sorted(data.get("symptoms") or ())),
            illness_days=data.get("illness_days"),
            breaths_per_minute=data.get("breaths_per_minute"),
        )


class PredictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prediction
        fields = ["probability", "label", "needs_review", "indeterminate", "model_version", "created_at"]


class ReviewSerializer(serializers.ModelSerializer):
    """What the patient reads. The internal note is for clinicians only and never leaves through the API."""

    class Meta:
        model = Review
        fields = ["finding", "patient_note", "created_at"]


class ReviewInputSerializer(serializers.Serializer):
    finding = serializers.ChoiceField(choices=Review.Finding.choices)
    patient_note = serializers.CharField(required=False, allow_blank=True, default="")
    internal_note = serializers.CharField(required=False, allow_blank=True, default="")


class DicomSummarySerializer(serializers.Serializer):
    kept = serializers.DictField(child=serializers.CharField(), help_text="Kept attributes and their values.")
    removed = serializers.ListField(child=serializers.CharField(), help_text="Keywords of removed attributes.")
    replaced = serializers.ListField(child=serializers.CharField(), help_text="Keywords emptied or given new UIDs.")
    private_tags_removed = serializers.IntegerField()


class ScanLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    image = serializers.URLField()
    heatmap = serializers.URLField(allow_null=True)
    dicom = serializers.URLField(allow_null=True, help_text="The de-identified DICOM, for DICOM uploads.")
    report = serializers.URLField(help_text="The PDF report.")
    page = serializers.URLField(help_text="The scan's page on the portal.")
    dicom_sr = serializers.URLField(allow_null=True, help_text="The reading as a DICOM Structured Report.")
    dicom_heatmap = serializers.URLField(allow_null=True, help_text="The heatmap as a DICOM Secondary Capture.")
    fhir = serializers.URLField(allow_null=True, help_text="The reading as a FHIR R4 DiagnosticReport.")


class ScanSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=Scan.Status.choices, read_only=True)
    patient = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The profile the X-ray belongs to (none for a site's study)."
    )
    site = serializers.StringRelatedField(
        read_only=True, allow_null=True, help_text="The hospital or clinic that sent the study over DICOM."
    )
    accession_number = serializers.SerializerMethodField()
    age_at_scan_months = serializers.IntegerField(read_only=True, allow_null=True)
    symptoms = serializers.ListField(child=serializers.ChoiceField(choices=Symptom.choices), read_only=True)
    urgent_care = serializers.CharField(
        read_only=True, allow_null=True, help_text="Seek care now, and why, when danger signs were reported."
    )
    population_warning = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="When the age is outside the model's training (one to five) or unknown.",
    )
    prediction = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    dicom = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Scan
        fields = [
            "id", "status", "status_reason", "created_at", "finished_at", "original_filename", "source_format",
            "width", "height", "patient", "age_at_scan_months", "symptoms", "illness_days", "urgent_care",
            "population_warning", "prediction", "review", "dicom", "links", "site", "accession_number",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(PredictionSerializer(allow_null=True))
    def get_prediction(self, scan: Scan):
        reading = scan.reading_for(self.context["request"].user)
        return PredictionSerializer(reading).data if reading else None

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, scan: Scan):
        return ReviewSerializer(scan.latest_review).data if scan.latest_review else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_accession_number(self, scan: Scan) -> str:
        """The parent's own, for their DICOM upload; the site's, for its readers (ScanList audits that)."""
        origin = getattr(scan, "dicom_origin", None) if scan.site_id else None
        return origin.accession_number if origin is not None else scan.accession_number

    @extend_schema_field(DicomSummarySerializer(allow_null=True))
    def get_dicom(self, scan: Scan):
        return DicomSummarySerializer(scan.dicom_summary).data if scan.dicom_summary else None

    @extend_schema_field(ScanLinksSerializer)
    def get_links(self, scan: Scan):
        request = self.context["request"]

        def url(name):
            return request.build_absolute_uri(reverse(f"api:{name}", args=[scan.pk]))

        reading = scan.reading_for(request.user)
        return {
            "self": url("scan"),
            "image": url("scan-image"),
            "heatmap": url("scan-heatmap") if reading and reading.heatmap else None,
            "dicom": url("scan-dicom") if scan.dicom_file else None,
            "report": url("scan-report"),
            "page": request.build_absolute_uri(scan.get_absolute_url()),
            "dicom_sr": url("scan-dicom-sr") if reading else None,
            "dicom_heatmap": url("scan-dicom-heatmap") if reading and reading.heatmap else None,
            "fhir": url("scan-fhir") if reading else None,
        }


class WorklistCaseSerializer(serializers.ModelSerializer):
    """A case waiting for a radiologist, with the figures the worklist sorts by."""

    id = serializers.IntegerField(
        source="scan_id", help_text="The scan's id: the review is signed at worklist/{id}/review/."
    )
    priority = serializers.FloatField(
        source="score", help_text="Higher first: the model's probability plus a point a day of waiting."
    )
    reason = serializers.ChoiceField(choices=ReviewCase.Reason.choices, help_text="Why the case needs a radiologist.")
    ai_probability = serializers.FloatField(source="prediction.probability", allow_null=True, default=None)
    ai_label = serializers.ChoiceField(
        source="prediction.label", choices=Prediction.Label.choices, allow_null=True, default=None
    )
    ai_indeterminate = serializers.BooleanField(source="prediction.indeterminate", allow_null=True, default=None)
    review_requested = serializers.SerializerMethodField()
    claimed_by_me = serializers.SerializerMethodField()
    claimed_by_other = serializers.SerializerMethodField()

    class Meta:
        model = ReviewCase
        fields = [
            "id", "priority", "reason", "waiting_since", "ai_probability", "ai_label", "ai_indeterminate",
            "review_requested", "claimed_by_me", "claimed_by_other",
        ]  # fmt: skip
        read_only_fields = fields

    def get_review_requested(self, case: ReviewCase) -> bool:
        return case.requested_at is not None

    def get_claimed_by_me(self, case: ReviewCase) -> bool:
        return case.claim_holder() == self.context["request"].user

    def get_claimed_by_other(self, case: ReviewCase) -> bool:
        holder = case.claim_holder()
        return holder is not None and holder != self.context["request"].user
