from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from patients.models import Patient


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ["name", "date_of_birth"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"})}
        # Worded here rather than on the model, whose verbose names are in its migrations.
        labels = {"name": _("Name or nickname"), "date_of_birth": _("Date of birth")}
        help_texts = {
            "date_of_birth": _("For the age at each X-ray: the model learned from children aged one to five.")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date_of_birth"].required = True
        if self.instance.pk and self.instance.is_unnamed:
            self.initial["name"] = ""  # the placeholder name is ours: the parent types the real one

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Give a name or a nickname."), code="blank")
        return name

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born > timezone.localdate():
            raise forms.ValidationError(_("The date of birth cannot be in the future."), code="future_birth")
        return born
