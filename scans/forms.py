from django import forms
from django.conf import settings


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


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Chest X-ray files",
        error_messages={"required": "Choose at least one X-ray file to upload."},
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        limit = settings.SCAN_MAX_FILES_PER_UPLOAD
        if len(files) > limit:
            raise forms.ValidationError(
                f"You chose {len(files)} files; you can upload up to {limit} at a time. Upload the rest in another go.",
                code="too_many_files",
            )
        return files
