from django import forms

from accounts.models import User


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email"]
        widgets = {"notify_by_email": forms.CheckboxInput(attrs={"role": "switch"})}

    def save(self, commit=True):
        user = super().save(commit=False)
        if commit:
            # Only this form's field: the rest of the row (last_login, password) may change meanwhile.
            user.save(update_fields=self.Meta.fields)
        return user
