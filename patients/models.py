"""Whose X-ray it is: an account (a parent, or an adult for themselves) holds one profile per person."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

# The profile made for an account that uploads before naming anyone (and for X-rays from before profiles).
# Stored in English; pages show it in the reader's language, and never as "My X-rays's X-ray".
DEFAULT_NAME = gettext_noop("My X-rays")


def age_in_months(born: date, on: date) -> int:
    """Whole months from birth to the day of the X-ray (a child is 12 months old on their first birthday)."""
    months = (on.year - born.year) * 12 + on.month - born.month
    return max(months - (on.day < born.day), 0)


class PatientQuerySet(models.QuerySet):
    def of(self, account):
        return self.filter(owner=account)

    def default_for(self, account) -> Patient:
        """The account's first profile, made (nameless, age unknown) when it has none."""
        first = self.of(account).order_by("created_at", "pk").first()
        return first or self.create(owner=account, name=DEFAULT_NAME)


class Patient(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="patients")
    name = models.CharField("name or nickname", max_length=80)
    date_of_birth = models.DateField(
        null=True, blank=True, help_text="For the age at each X-ray: the model learned from children aged one to five."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self):
        return self.display_name

    def get_absolute_url(self):
        return f"{reverse('scans:history')}?patient={self.pk}"

    @property
    def is_unnamed(self) -> bool:
        """The profile made before its owner named anyone: its name is ours, not the parent's."""
        return self.name == DEFAULT_NAME

    @property
    def display_name(self) -> str:
        return gettext(DEFAULT_NAME) if self.is_unnamed else self.name

    def age_in_months_on(self, day: date) -> int | None:
        if self.date_of_birth is None or day < self.date_of_birth:
            return None
        return age_in_months(self.date_of_birth, day)
