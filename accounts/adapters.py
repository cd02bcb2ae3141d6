from allauth.account.adapter import DefaultAccountAdapter
from django.utils import translation
from django.utils.encoding import force_str

from accounts.emails import with_subject_prefix
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

    def format_email_subject(self, subject):
        # ACCOUNT_EMAIL_SUBJECT_PREFIX would stay English: the prefix is translated with ours.
        return with_subject_prefix(force_str(subject))
