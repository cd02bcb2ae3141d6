"""Email to a user of the portal, in their language, with the sign-off that says how to stop it.

Email is not a private channel: messages say that news is waiting and link to the portal, never the
result itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext


def link(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def language_of(user) -> str:
    """The language the user chose for the portal, else the site's: emails are sent by workers, which
    have no request to take a language from. (The account's choice is its `language` field.)"""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def in_language_of(user):
    """`with in_language_of(user):` around building an email's subject and body."""
    return translation.override(language_of(user))


def send_to_user(user, subject: str, body: str) -> None:
    """Send in the user's language: call inside in_language_of(user), where subject and body were worded."""
    sign_off = gettext(
        "You receive this email because you asked to be told by email. You can turn it off in your preferences: %(url)s"
    ) % {"url": link(reverse("accounts:preferences"))}
    message = f"{body}\n\n{sign_off}\n"
    send_mail(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}", message, settings.DEFAULT_FROM_EMAIL, [user.email])
