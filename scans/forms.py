from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from patients.models import Patient
from scans.clinical import DANGER_SIGNS, EVERYDAY_SYMPTOMS
from scans.services import ClinicalContext


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A list of files. Emptiness and content are judged per file later, so one bad file fails alone."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single_clean = super().clean
        if isinstance(data, list | tuple) and data:
            return [single_clean(item, initial) for item in data]
        return [single_clean(data, initial)]  # an empty list lands here and gets the "required" error


class ClinicalContextForm(forms.Form):
    """Whose X-ray, and what the family reports with it; everything but the person is optional and quick."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.none(),
        required=False,
        label=_("Whose X-ray is this?"),
        empty_label=_("Someone new (or not said)"),
    )
    new_patient_name = forms.CharField(label=_("Their name or a nickname"), max_length=80, required=False)
    new_patient_date_of_birth = forms.DateField(
        label=_("Their date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    symptoms = forms.MultipleChoiceField(
        label=_("Symptoms now (tick any)"),
        choices=[(symptom.value, symptom.label) for symptom in EVERYDAY_SYMPTOMS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    danger_signs = forms.MultipleChoiceField(
        # Translators: heading of the WHO IMCI danger signs a parent can tick.
        label=_("Signs that need a doctor today (tick any)"),
        choices=[(sign.value, sign.label) for sign in DANGER_SIGNS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    illness_days = forms.IntegerField(label=_("Days of illness so far"), min_value=0, max_value=365, required=False)
    breaths_per_minute = forms.IntegerField(
        # Translators: the IMCI breathing count, a parent counts breaths for one full minute.
        label=_("Breaths in one minute, counted while calm (optional)"),
        min_value=5,
        max_value=150,
        required=False,
        help_text=_("Watch the chest or belly rise for a full minute."),
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        profiles = Patient.objects.of(account)
        self.fields["patient"].queryset = profiles
        self.fields["patient"].initial = profiles.first()

    def clean_new_patient_date_of_birth(self):
        born = self.cleaned_data["new_patient_date_of_birth"]
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."), code="future_birth")
        return born

    def clean(self):
        cleaned = super().clean()
        naming_someone_new = not cleaned.get("patient") and cleaned.get("new_patient_name", "").strip()
        if (
            naming_someone_new
            and not cleaned.get("new_patient_date_of_birth")
            and not self.has_error("new_patient_date_of_birth")
        ):
            self.add_error("new_patient_date_of_birth", _("Give the new person's date of birth, for their age."))
        return cleaned

    def clinical_context(self) -> ClinicalContext:
        """The context of a valid form. A new person becomes a profile of the account here; nobody chosen
        or named means the account's default profile, as in the API."""
        data = self.cleaned_data
        patient = data["patient"]
        if patient is None and data["new_patient_name"].strip():
            patient = Patient.objects.create(
                owner=self.account,
                name=data["new_patient_name"].strip(),
                date_of_birth=data["new_patient_date_of_birth"],
            )
        patient = patient or Patient.objects.default_for(self.account)
        return ClinicalContext(
            patient=patient,
            symptoms=tuple(data["symptoms"]) + tuple(data["danger_signs"]),
            illness_days=data["illness_days"],
            breaths_per_minute=data["breaths_per_minute"],
        )


class UploadForm(ClinicalContextForm):
    field_order = ["files"]  # then whose X-ray and the context
    files = MultipleFileField(
        label=_("Chest X-ray files"),
        error_messages={"required": _("Choose at least one X-ray file to upload.")},
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.SCAN_MAX_FILES_PER_UPLOAD
        if len(files) > limit:
            # Translators: count is always more than limit.
            message = ngettext(
                "You chose %(count)s files; you can upload up to %(limit)s at a time. Upload the rest in another go.",
                "You chose %(count)s files; you can upload up to %(limit)s at a time. Upload the rest in another go.",
                len(files),
            )
            raise forms.ValidationError(message % {"count": len(files), "limit": limit}, code="too_many_files")
        return files
