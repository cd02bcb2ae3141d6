"""Receive chest X-rays from hospitals by DICOM C-STORE until stopped (make run's `dicom`, docker-compose's
`dicom` service)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from hospitals.listener import serve


class Command(BaseCommand):
    help = "Run the DICOM C-STORE listener for the sites' modalities and PACS; SIGTERM or Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument(
            "--address", help=f"address to listen on (DICOM_BIND_ADDRESS: {settings.DICOM_BIND_ADDRESS})"
        )
        parser.add_argument("--port", type=int, help=f"TCP port (DICOM_PORT: {settings.DICOM_PORT})")
        parser.add_argument("--ae-title", help=f"the portal's AE title (DICOM_AE_TITLE: {settings.DICOM_AE_TITLE})")

    def handle(self, *args, address, port, ae_title, **options):
        serve(address=address, port=port, ae_title=ae_title, block=True)
