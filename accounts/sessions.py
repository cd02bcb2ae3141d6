"""Ending a user's logins on every device: a deactivated account must not stay logged in anywhere."""

from __future__ import annotations

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.utils import timezone


def end_sessions(user_ids) -> int:
    """Delete every live session logged in as one of these users; returns how many were ended.

    Database sessions are not indexed by user, so each live one is decoded: a portal has few at a time.
    """
    wanted = {str(user_id) for user_id in user_ids}
    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) in wanted
    ]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


def end_sessions_of_inactive_user(sender, instance, **kwargs) -> None:
    """post_save: unticking "active" in the admin ends the account's sessions at once."""
    if not instance.is_active and instance.pk:
        end_sessions([instance.pk])
