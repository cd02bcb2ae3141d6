"""Email to a user of the portal, with the sign-off that says how to stop it.

Email is not a private channel: messages say that news is waiting and link to the portal, never the
result itself. A worker sends most of them, with no request whose language would apply: callers compose
them inside accounts.language.in_language_of(recipient).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

SIGN_OFF = (
    "\n\nYou receive this email because you asked to be told by email. You can turn it off in your preferences: {url}\n"
)


def email_date(moment) -> str:
    """A day as the active language writes it ("5 Dec 2025", "5 de diciembre de 2025")."""
    return date_format(timezone.localtime(moment), "DATE_FORMAT")


def link(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def send_to_user(user, subject: str, body: str) -> None:
    message = body + SIGN_OFF.format(url=link(reverse("accounts:preferences")))
    send_mail(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", message, settings.DEFAULT_FROM_EMAIL, [user.email])
