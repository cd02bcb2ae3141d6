"""Naming a site on the command line or in a form: its name, or nothing for the installation."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from hospitals.models import Site


def site_named(name: str | None) -> Site | None:
    if not name:
        return None
    site = Site.objects.filter(name=name).first()
    if site is None:
        known = ", ".join(Site.objects.values_list("name", flat=True)[:20]) or "none yet"
        raise ValidationError(f"No site is called {name!r} (sites: {known}).")
    return site


def whose(site: Site | None) -> str:
    return f"site {site.name}" if site is not None else "the installation"
