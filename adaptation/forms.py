from django import forms

from hospitals.models import Site


class ReferenceZipForm(forms.Form):
    zip = forms.FileField(
        label="Zip of films",
        help_text="A folder holding NORMAL/ and PNEUMONIA/ folders of JPEG, PNG or DICOM films, zipped.",
    )
    site = forms.ModelChoiceField(Site.objects.all(), required=False, empty_label="The installation")
