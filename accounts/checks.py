"""Deployment checks (`manage.py check --deploy`) for what keeps accounts safe."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

PER_PROCESS_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")


@register(Tags.security, deploy=True)
def check_login_throttle_is_shared(app_configs, **kwargs):
    """The failed-login counters live in the cache: one per process would multiply the allowed guesses."""
    if settings.CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES:
        return [
            Warning(
                "Login throttling counts failed logins in a cache that each web process keeps for itself.",
                hint="Set CACHE_URL to a cache every web process shares, e.g. redis://redis:6379/1.",
                id="accounts.W001",
            )
        ]
    return []
