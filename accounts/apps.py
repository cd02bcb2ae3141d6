from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import checks  # noqa: F401  registers the deployment checks
        from accounts.middleware import stamp_login
        from accounts.sessions import end_sessions_of_inactive_user

        post_save.connect(end_sessions_of_inactive_user, sender=self.get_model("User"))
        user_logged_in.connect(stamp_login)
