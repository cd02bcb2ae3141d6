"""Staff and radiologists reach the admin, the worklist and the staff pages only with a second factor,
and anyone who turned one on is asked for it wherever a password opens the account (the API's tokens too).

allauth's MFA does the rest: a user who has one is asked for it at every login; a staff member or
radiologist without one is sent to set up an authenticator app (TOTP, with recovery codes) first.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.core.context import request_context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

# What turns a second factor on. Recovery codes only stand in for one of these (allauth deletes them
# with the last), so an account holding nothing else has none.
SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def must_use_mfa(user) -> bool:
    return user.is_authenticated and (user.is_staff or user.is_radiologist)


def has_second_factor(user) -> bool:
    return is_mfa_enabled(user, types=SECOND_FACTORS)


def code_is_accepted(request, user, code: str) -> bool:
    """The code the login page would accept: the authenticator app's (once per period), or an unused
    recovery code, which this uses up. allauth's own form checks it, so the wrong codes count towards the
    same per-account lockout as on the web (ACCOUNT_RATE_LIMITS["login_failed"])."""
    if not code:
        return False
    with request_context(request):
        form = AuthenticateForm(user=user, data={"code": code})
        if not form.is_valid():
            return False
    form.authenticator.record_usage()
    return True


class RequireMfaForStaffMiddleware:
    """Goes after AuthenticationMiddleware and MessageMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(settings.MFA_REQUIRED_PATHS) and must_use_mfa(request.user):
            if not is_mfa_enabled(request.user):
                messages.warning(
                    request,
                    "Staff and radiologists need a second factor to open patients' X-rays. Set up an "
                    "authenticator app now; you will be asked for a code at each login.",
                )
                return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
