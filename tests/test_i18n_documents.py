"""PDF reports in the reader's language: drawn in a font that has its characters, and, when a worker
makes them (a data export), in the owner's language rather than the worker's default."""

import io
import re
import zipfile
from datetime import datetime

import pypdf
import pytest
from django.utils import timezone, translation

from exports import services
from portal.celery import app
from scans.report import render_report
from tests.factories import PredictionFactory, UserFactory, private_media  # noqa: F401

pytestmark = pytest.mark.django_db
UPLOADED = datetime(2025, 12, 5, 9, 30, tzinfo=timezone.UTC)
MISSING_GLYPH = "\u25a0"  # what a Chinese character drawn in Helvetica comes out as


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


# December as each language writes it, whichever date format the report uses.
DECEMBER = {"es": r"\b[Dd]ic", "fr": r"\b[Dd]éc", "pt-br": r"\b[Dd]ez", "zh-hans": "12月|十二月", "en-gb": r"\bDec"}


@pytest.mark.parametrize("language, uploaded", DECEMBER.items())
def test_the_report_is_drawn_in_the_active_language_with_every_character_printable(language, uploaded):
    scan = PredictionFactory(scan__created_at=UPLOADED).scan

    with translation.override(language):
        text = pdf_text(render_report(scan, scan.owner))

    assert re.search(uploaded, text) and "2025" in text
    assert MISSING_GLYPH not in text


STANDARD_FONTS = {"Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", "Times-Roman"}


def fonts_not_embedded(pdf: bytes) -> set[str]:
    """The fonts the pages use that a reader must already have: neither embedded nor one of the standard
    fonts every PDF reader carries."""
    missing = set()
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptors = [font.get("/FontDescriptor")] + [
                descendant.get_object().get("/FontDescriptor") for descendant in font.get("/DescendantFonts", [])
            ]
            embedded = any(
                descriptor is not None and set(descriptor.get_object()) & {"/FontFile", "/FontFile2", "/FontFile3"}
                for descriptor in descriptors
            )
            if not embedded and font["/BaseFont"].lstrip("/") not in STANDARD_FONTS:
                missing.add(font["/BaseFont"])
    return missing


def test_a_chinese_report_prints_chinese_characters_in_a_font_it_carries():
    scan = PredictionFactory(scan__created_at=UPLOADED, scan__original_filename="胸片.png").scan

    with translation.override("zh-hans"):
        pdf = render_report(scan, scan.owner)

    text = pdf_text(pdf)
    assert "胸片.png" in text and re.search(DECEMBER["zh-hans"], text)
    assert fonts_not_embedded(pdf) == set()  # a reader without Adobe's Chinese pack draws it too


@pytest.mark.parametrize("language", ["en-gb", "es"])
def test_a_file_name_outside_the_latin_alphabets_of_the_standard_fonts_is_printed_not_boxed(language):
    scan = PredictionFactory(scan__original_filename="Łódź_Nguyễn_胸片.png").scan

    with translation.override(language):
        pdf = render_report(scan, scan.owner)

    text = pdf_text(pdf)
    assert "Łódź_Nguyễn_胸片.png" in text and MISSING_GLYPH not in text
    assert fonts_not_embedded(pdf) == set()


@pytest.mark.parametrize("language", ["es", "zh-hans"])
def test_an_export_built_by_the_worker_holds_reports_in_the_owners_language(
    django_capture_on_commit_callbacks, language
):
    app.loader.import_default_modules()
    owner = UserFactory(language=language)
    PredictionFactory(scan__owner=owner, scan__created_at=UPLOADED)
    with django_capture_on_commit_callbacks() as callbacks:
        export = services.request_export(owner)
    (queued,) = callbacks

    app.tasks[queued.args[0]].apply(kwargs=queued.keywords["kwargs"], throw=True)  # as the worker runs it

    export.refresh_from_db()
    with export.file.open("rb") as stored, zipfile.ZipFile(stored) as archive:
        (report,) = [name for name in archive.namelist() if name.endswith("report.pdf")]
        text = pdf_text(archive.read(report))
    assert re.search(DECEMBER[language], text) and MISSING_GLYPH not in text
    assert translation.get_language() == "en-gb"  # and the worker's own language is left as it was
