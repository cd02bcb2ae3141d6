"""Staff and radiologists reach the admin, the worklist and the staff pages only with a second factor.

allauth's MFA does the rest: a user who has one is asked for it at every login; a staff member or
radiologist without one is sent to set up an authenticator app (TOTP, with recovery codes) first.
"""

from __future__ import annotations

from urllib.parse import urlencode

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse


def must_use_mfa(user) -> bool:
    return user.is_authenticated and (user.is_staff or user.is_radiologist)


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
