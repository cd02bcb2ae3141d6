"""The idle timeout: a login ends SESSION_COOKIE_AGE after its last use, with the session written
at most once every SESSION_REFRESH_SECONDS rather than on every request; and a signed-in user's own
language on every device."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.utils import translation

from accounts.language import saved_language

# When the session's expiry was last pushed on, as a Unix time, kept in the session itself.
REFRESHED_AT = "_idle_timeout_refreshed_at"


class IdleTimeoutMiddleware:
    """Pushes a logged-in session's expiry on, once its last push is SESSION_REFRESH_SECONDS old.

    Django's SESSION_SAVE_EVERY_REQUEST did this by writing the session row on every request; on
    SQLite those writes queue behind each other (one writer at a time) and were most of the worklist's
    p95 under load. Marking the session modified once a minute gives the same timeout, up to a minute
    short, for one write a minute per user. Goes after SessionMiddleware, whose response saves it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if SESSION_KEY in session:
            now = time.time()
            if now - session.get(REFRESHED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[REFRESHED_AT] = now  # modified, so SessionMiddleware saves it with a new expiry
        return self.get_response(request)


def stamp_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: the login saves the session anyway, so the first request after it need not."""
    if request is not None and hasattr(request, "session"):
        request.session[REFRESHED_AT] = time.time()


class AccountLanguageMiddleware:
    """A signed-in user's saved language wins over the cookie and Accept-Language that LocaleMiddleware
    read, on any device they sign in on. The cookie is brought into line, so the pages after logging out
    stay in that language. Goes after AuthenticationMiddleware (it needs request.user) and inside
    LocaleMiddleware, whose response then names the language in Content-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = saved_language(request.user)
        if language and language != request.LANGUAGE_CODE:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # Asked again: the view may have just changed it (the picker, the preferences page) or logged out.
        language = saved_language(request.user)
        cookie = settings.LANGUAGE_COOKIE_NAME
        if language and request.COOKIES.get(cookie) != language and cookie not in response.cookies:
            remember_language(response, language)
        return response


def remember_language(response, language: str) -> None:
    """The language cookie as Django's set_language view writes it."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
