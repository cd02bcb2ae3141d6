"""Which language a user reads the portal in: the one saved on their account, where the portal still
offers it. A request's language comes from LocaleMiddleware and AccountLanguageMiddleware; work done
outside a request (a worker's email, the PDFs of a data export) asks here."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


def language_choices() -> list[tuple[str, str]]:
    # A callable, so the migration does not copy LANGUAGES: adding a language needs no migration.
    return list(settings.LANGUAGES)


def offered(code: str | None) -> bool:
    return code in dict(settings.LANGUAGES)


def saved_language(user) -> str | None:
    """The user's saved language, or None: none saved, an anonymous visitor, or one no longer offered."""
    code = getattr(user, "language", "")
    return code if offered(code) else None


def in_language_of(user):
    """A context in which gettext, dates and numbers speak the user's saved language, else the one already
    active: the request's, or in a worker (no request) LANGUAGE_CODE. For what a worker makes for a user,
    and for what a request makes for a user it authenticated itself (an API token)."""
    return translation.override(saved_language(user) or translation.get_language())
