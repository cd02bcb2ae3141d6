from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation

from accounts.language import offered


class AccountAdapter(DefaultAccountAdapter):
    """Everyone who signs up is a patient; radiologists and admins are made in the admin."""

    def save_user(self, request, user, form, commit=True):
        user.role = user.Role.PATIENT
        # The language the sign-up page was read in: emails sent later, by a worker, follow it.
        language = translation.get_language()
        if offered(language):
            user.language = language
        return super().save_user(request, user, form, commit=commit)
