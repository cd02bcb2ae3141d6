"""Email to a user of the portal, in their language, with the sign-off that says how to stop it.

Email is not a private channel: messages say that news is waiting and link to the portal, never the
result itself. A worker sends most of them, with no request whose language would apply: callers compose
them inside accounts.language.in_language_of(recipient).
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils.translation import gettext


def link(path: str) -> str:
    return f"{settings.PORTAL_URL}{path}"


def with_subject_prefix(subject: str) -> str:
    """Every email's subject, ours and allauth's, in the active language."""
    # Translators: every email's subject; the portal's name in brackets, then the subject itself.
    return gettext("[Pneumonia screening] %(subject)s") % {"subject": subject}


def send_to_user(user, subject: str, body: str) -> None:
    """Send in the user's language: call inside in_language_of(user), where subject and body were worded."""
    sign_off = gettext(
        "You receive this email because you asked to be told by email. You can turn it off in your preferences: %(url)s"
    ) % {"url": link(reverse("accounts:preferences"))}
    message = f"{body}\n\n{sign_off}\n"
    send_mail(with_subject_prefix(subject), message, settings.DEFAULT_FROM_EMAIL, [user.email])
