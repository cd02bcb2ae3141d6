"""python manage.py adapt_model [--site NAME] [--activate]: fit a site's head and report; exit 2 when
the guardrails refuse it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from adaptation import fitting, heads
from adaptation.sites import site_named, whose


class Command(BaseCommand):
    help = (
        "Fit a reading head on the reference cases of a site (or of the installation), print the cross-validated "
        "figures beside the shipped head's, and keep the head inactive; --activate makes it read new films when it "
        "passes the guardrails. Exits 2, saying why, when it does not."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", help="The site's name; without it, the installation's head.")
        parser.add_argument("--activate", action="store_true", help="Activate the head if it passes the guardrails.")

    def handle(self, *args, site, activate, **options):
        try:
            site = site_named(site)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        report, head = fitting.adapt_site(site)
        self.stdout.write(report.text())
        if head is not None:
            self.stdout.write(f"Kept as reading head {head.label} of {whose(site)} (version {head.version}).")
        if not report.may_activate:
            raise CommandError(f"Not activated: {report.refusal}", returncode=2)
        if activate:
            heads.activate(head, via="manage.py adapt_model --activate")
            self.stdout.write(f"Activated: new films of {whose(site)} are read as {head.version}.")
        else:
            self.stdout.write("It passed the guardrails; run again with --activate, or activate it on the staff page.")
