"""python manage.py import_reference_films DIR [--site NAME]: a site's labelled films, read once each."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from adaptation import references
from adaptation.sites import site_named, whose


class Command(BaseCommand):
    help = (
        "Import the labelled films in DIR/NORMAL and DIR/PNEUMONIA (JPEG, PNG or DICOM, judged as uploads are) "
        "as reference cases of a site, or of the installation without --site."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--site", help="The site's name; without it the films belong to the installation.")

    def handle(self, *args, directory, site, **options):
        try:
            site = site_named(site)
            result = references.import_folder(directory, site, progress=self._progress)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stderr.write("")
        for refusal in result.refused:
            self.stdout.write(f"refused {refusal['name']}: {refusal['reason']}")
        self.stdout.write(f"Reference films of {whose(site)}:")
        for line in result.lines():
            self.stdout.write(f"  {line}")

    def _progress(self, result):
        done = sum(sum(counts.values()) for counts in result.counts.values())
        self.stderr.write(f"\r{done} films read", ending="")
