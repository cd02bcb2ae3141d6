"""Users log in by email and have one role: patient, radiologist or admin; API tokens are theirs too."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from accounts.language import language_choices, offered

# last_used_at is written at most this often: a polling client must not turn every read into a write.
TOKEN_USE_RECORDED_EVERY = timedelta(minutes=1)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True, role=User.Role.ADMIN)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    class Role(models.TextChoices):
        PATIENT = "patient", "Patient"
        RADIOLOGIST = "radiologist", "Radiologist"
        ADMIN = "admin", "Admin"

    username = None
    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT, db_index=True)
    notify_by_email = models.BooleanField("email me when a result or review is ready", default=True)
    # Blank until chosen: pages then follow the language cookie or Accept-Language. Sign-up saves the
    # language the sign-up page was read in, so a worker's emails reach a new parent in it too.
    # db_default too: rows written by code that predates the column (a migration's historical model) get it.
    language = models.CharField(max_length=16, blank=True, default="", db_default="", choices=language_choices)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def is_radiologist(self) -> bool:
        return self.role == self.Role.RADIOLOGIST

    def save_language(self, code: str) -> bool:
        """Save the language chosen, if the portal offers it; True when saved."""
        if not offered(code):
            return False
        self.language = code
        self.save(update_fields=["language"])
        return True

    @property
    def may_delete_own_account(self) -> bool:
        # Radiologists and staff sign reviews and act in the audit log: an admin deactivates them instead.
        return self.is_patient and not (self.is_staff or self.is_superuser)

    def delete_with_files(self) -> None:
        """Delete the account, its X-rays, readings, reviews and tokens, and every stored file once it commits.

        Audit records stay, as the log must: they name no one any more (actor is SET_NULL) and hold no image.
        """
        with transaction.atomic():
            for scan in self.scans.prefetch_related("predictions"):
                scan.delete_with_files()
            self.delete()


def hash_token_key(key: str) -> str:
    # The key is 256 random bits, so a plain SHA-256 cannot be reversed by guessing; no slow hash needed.
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A key for the REST API. Only its hash is stored: the key is shown once, when it is made."""

    MAX_PER_USER = 20

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to tell tokens apart.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="After this the token is refused; make a new one.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def refusal(cls, user) -> str | None:
        """Why this user may not have another token (they hold the most allowed), or None: the web's form
        and the API's token endpoint both ask here."""
        if user.api_tokens.count() >= cls.MAX_PER_USER:
            return ngettext(
                "You have %(count)s API token already; revoke one on your account page first.",
                "You have %(count)s API tokens already; revoke one on your account page first.",
                cls.MAX_PER_USER,
            ) % {"count": cls.MAX_PER_USER}
        return None

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """A new token and its key, which is never stored and cannot be shown again."""
        key = secrets.token_urlsafe(32)
        expires_at = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
        token = cls.objects.create(
            user=user, name=name[:100], key_hash=hash_token_key(key), prefix=key[:8], expires_at=expires_at
        )
        return token, key

    @classmethod
    def find(cls, key: str) -> ApiToken | None:
        """The token with this key, if it has not expired and an active user holds it."""
        live = cls.objects.select_related("user").filter(key_hash=hash_token_key(key), expires_at__gt=timezone.now())
        token = live.first()
        return token if token is not None and token.user.is_active else None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    def record_use(self, now=None) -> None:
        now = now or timezone.now()
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - TOKEN_USE_RECORDED_EVERY)
        ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now)
