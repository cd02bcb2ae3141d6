"""Create demo accounts for trying the portal locally (refused under production settings)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

DEMO_USERS = (
    ("patient@example.com", User.Role.PATIENT),
    ("patient2@example.com", User.Role.PATIENT),
    ("radiologist@example.com", User.Role.RADIOLOGIST),
    ("admin@example.com", User.Role.ADMIN),
)


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo patient, radiologist and admin accounts."

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="password for every demo account")

    def handle(self, *args, password, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with a known password; it refuses to run in production.")
        for email, role in DEMO_USERS:
            user, created = User.objects.get_or_create(email=email, defaults={"role": role})
            user.role = role
            user.is_staff = user.is_superuser = role == User.Role.ADMIN
            user.set_password(password)
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
            self.stdout.write(f"{'created' if created else 'updated'} {role:<12} {email}")
