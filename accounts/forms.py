from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiToken, User


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_by_email", "language"]
        widgets = {"notify_by_email": forms.CheckboxInput(attrs={"role": "switch"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Each language named in itself, no blank choice; the one the page is read in until one is saved.
        # Not required: a form posted without it (an older page) keeps the saved one.
        self.fields["language"].choices = settings.LANGUAGES
        self.initial["language"] = self.instance.language or translation.get_language()

    def save(self, commit=True):
        user = super().save(commit=False)
        if commit:
            # Only this form's field: the rest of the row (last_login, password) may change meanwhile.
            user.save(update_fields=self.Meta.fields)
        return user


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Token name"), help_text=_("What the token is for, e.g. the program that will use it.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        if refusal := ApiToken.refusal(self.user):
            raise forms.ValidationError(refusal)
        return self.cleaned_data


class DeleteAccountForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."), code="wrong_password")
        return password
