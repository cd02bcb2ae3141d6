"""Ending a user's logins on every device: a deactivated account must not stay logged in anywhere."""

from __future__ import annotations

from allauth.usersessions.models import UserSession


def end_sessions(user_ids) -> int:
    """End every login of these users, on every device; returns how many were ended.

    allauth's user sessions record each login by user, so nothing has to decode every session.
    """
    sessions = list(UserSession.objects.filter(user_id__in=list(user_ids)))
    for session in sessions:
        session.end()
    return len(sessions)


def end_sessions_of_inactive_user(sender, instance, **kwargs) -> None:
    """post_save: unticking "active" in the admin ends the account's sessions at once."""
    if not instance.is_active and instance.pk:
        end_sessions([instance.pk])
