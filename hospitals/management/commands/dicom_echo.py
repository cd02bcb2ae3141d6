"""C-ECHO the DICOM listener: the container health check, and an operator's first test of a connection."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from hospitals.listener import ECHO_AE_TITLE, echo


class Command(BaseCommand):
    help = "C-ECHO a DICOM listener (this portal's, by default); exits 1 unless it answers."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.DICOM_PORT)
        parser.add_argument("--called-ae-title", default=settings.DICOM_AE_TITLE)
        parser.add_argument(
            "--calling-ae-title", default=ECHO_AE_TITLE, help="a site's AE title, to check that it is let in"
        )
        parser.add_argument(
            "--alive",
            action="store_true",
            help="also succeed when the listener refuses the calling AE title: it read the sites to answer",
        )

    def handle(self, *args, host, port, called_ae_title, calling_ae_title, alive, **options):
        answer = echo(host, port, called_ae_title=called_ae_title, calling_ae_title=calling_ae_title)
        if answer == "ok" or (alive and answer == "unknown calling AE title"):
            self.stdout.write(f"{called_ae_title} at {host}:{port} answered: {answer}")
            return
        raise CommandError(f"{called_ae_title} at {host}:{port}: {answer}")
