"""Create demo accounts for trying the portal locally (refused under production settings)."""

import io
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from accounts.mfa import must_use_mfa
from accounts.models import ApiToken, User
from hospitals.models import Site, SiteAETitle
from patients.models import Patient
from reviews.services import open_case_for_reading
from scans.models import Prediction, Scan

DEMO_USERS = (
    ("patient@example.com", User.Role.PATIENT),
    ("patient2@example.com", User.Role.PATIENT),
    ("radiologist@example.com", User.Role.RADIOLOGIST),
    ("admin@example.com", User.Role.ADMIN),
)
# (owner, child, age in months, file name, probability, label, indeterminate, symptoms): what the
# radiologist's worklist starts with. The first parent has two children.
DEMO_READINGS = (
    (
        "patient@example.com",
        "Mia",
        40,
        "demo-suspected.png",
        0.91,
        Prediction.Label.PNEUMONIA,
        False,
        ["cough", "fever"],
    ),
    ("patient@example.com", "Leo", 20, "demo-uncertain.png", 0.34, Prediction.Label.NORMAL, True, ["cough"]),
    ("patient2@example.com", "Sam", 30, "demo-cleared.png", 0.06, Prediction.Label.NORMAL, False, []),
)
DEMO_MODEL_VERSION = "demo-readings"
# A hospital whose modality (storescu -aet DEMO_MODALITY) may send to the DICOM listener; the demo
# radiologist reads its studies. Results go nowhere until an admin gives it a destination.
DEMO_SITE, DEMO_SITE_AE_TITLE, DEMO_SITE_READER = "Demo hospital", "DEMO_MODALITY", "radiologist@example.com"
# Its systems' account for DICOMweb: no password (nobody logs in as it), one token, made anew at each run.
DEMO_SITE_SERVICE_ACCOUNT, DEMO_SITE_TOKEN_NAME = "pacs@demo-hospital.example", "STOW-RS (seed_demo)"


class Command(BaseCommand):
    help = "Create (or reset the password of) the demo patient, radiologist and admin accounts."

    def add_arguments(self, parser):
        parser.add_argument("--password", required=True, help="password for every demo account")
        parser.add_argument(
            "--with-scans",
            action="store_true",
            help="also give the demo patients X-rays with readings, so the radiologist's worklist has cases",
        )

    def handle(self, *args, password, with_scans=False, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with a known password; it refuses to run in production.")
        for email, role in DEMO_USERS:
            user, created = User.objects.get_or_create(email=email, defaults={"role": role})
            user.role = role
            user.is_staff = user.is_superuser = role == User.Role.ADMIN
            user.set_password(password)
            user.save()
            EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
            self.stdout.write(f"{'created' if created else 'updated'} {role:<12} {email}")
            if must_use_mfa(user):
                self.give_second_factor(user)
        self.seed_site()
        if with_scans:
            for reading in DEMO_READINGS:
                self.seed_scan(*reading)

    def seed_site(self) -> None:
        site, created = Site.objects.get_or_create(name=DEMO_SITE)
        SiteAETitle.objects.get_or_create(ae_title=DEMO_SITE_AE_TITLE, defaults={"site": site})
        site.readers.add(User.objects.get(email=DEMO_SITE_READER))
        self.stdout.write(
            f"{'created' if created else 'kept':<11} site {DEMO_SITE!r}: calling AE title {DEMO_SITE_AE_TITLE}, "
            f"read by {DEMO_SITE_READER}"
        )
        self.give_service_account(site)

    def give_service_account(self, site: Site) -> None:
        """The site's STOW-RS token, printed once: only its hash is kept, so each run replaces the last."""
        account, _ = User.objects.get_or_create(email=DEMO_SITE_SERVICE_ACCOUNT, defaults={"role": User.Role.PATIENT})
        if account.has_usable_password():
            account.set_unusable_password()
            account.save(update_fields=["password"])
        site.service_account = account
        site.save(update_fields=["service_account"])
        account.api_tokens.filter(name=DEMO_SITE_TOKEN_NAME).delete()
        _, key = ApiToken.issue(account, DEMO_SITE_TOKEN_NAME)
        self.stdout.write(f"            {DEMO_SITE_SERVICE_ACCOUNT} stores by STOW-RS with token {key}")

    def give_second_factor(self, user) -> None:
        """Staff and radiologists need one (accounts.mfa): an authenticator app's key, printed once."""
        if Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            self.stdout.write(f"            {user.email} keeps the authenticator app it had")
            return
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        self.stdout.write(f"            {user.email} logs in with a code: add key {secret} to an authenticator app")

    def seed_scan(self, email, child, age_months, filename, probability, label, indeterminate, symptoms):
        owner = User.objects.get(email=email)
        born = timezone.localdate() - timedelta(days=round(age_months * 30.44))
        patient, _ = Patient.objects.get_or_create(owner=owner, name=child, defaults={"date_of_birth": born})
        if Scan.objects.filter(owner=owner, original_filename=filename).exists():
            self.stdout.write(f"kept        {filename} for {email}")
            return
        png = demo_xray_png()
        now = timezone.now()
        with transaction.atomic():
            scan = Scan(
                owner=owner, patient=patient, age_at_scan_months=patient.age_in_months_on(timezone.localdate()),
                symptoms=symptoms, original_filename=filename, source_format="PNG", width=512, height=512,
                size_bytes=len(png), sha256="", status=Scan.Status.DONE, queued_at=now, started_at=now, finished_at=now,
            )  # fmt: skip
            scan.image.save("scan.png", ContentFile(png), save=False)
            scan.save()
            prediction = Prediction.objects.create(
                scan=scan, model_version=DEMO_MODEL_VERSION, probability=probability, label=label,
                needs_review=indeterminate or label == Prediction.Label.PNEUMONIA, indeterminate=indeterminate,
                inference_ms=0, queue_ms=0,
            )  # fmt: skip
            open_case_for_reading(scan, prediction)  # as the worker does: flagged readings wait for review
        self.stdout.write(f"created     {filename} for {email} ({probability:.0%})")


def demo_xray_png(size: int = 512) -> bytes:
    """A grey chest-like picture (two dark lungs in a lighter body): not a real X-ray, and not read by the model."""
    image = Image.new("L", (size, size), color=20)
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.08, size * 0.05, size * 0.92, size * 1.1), fill=170)
    for left in (0.17, 0.55):
        draw.ellipse((size * left, size * 0.18, size * (left + 0.28), size * 0.85), fill=60)
    draw.rectangle((size * 0.47, size * 0.05, size * 0.53, size), fill=210)  # spine
    buffer = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(size / 60)).save(buffer, "PNG")
    return buffer.getvalue()
