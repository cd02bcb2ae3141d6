from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Everyone who signs up is a patient; radiologists and admins are made in the admin."""

    def save_user(self, request, user, form, commit=True):
        user.role = user.Role.PATIENT
        return super().save_user(request, user, form, commit=commit)
