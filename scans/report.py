"""A scan's PDF report: thumbnails, the computer reading, the radiologist's review and the disclaimer.

Made on request and never stored, so deleting a scan leaves no report behind.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import numpy as np
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import strip_tags
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus import Image as PdfImage

from ml.errors import UnreadableImage
from ml.preprocessing import decode
from scans.models import Prediction, Scan
from scans.report_fonts import StylesForLanguage

THUMBNAIL_PIXELS = 800
THUMBNAIL_WIDTH = 80 * mm
TITLE = "Chest X-ray screening report"
STYLES = StylesForLanguage()


def render_report(scan: Scan, user) -> bytes:
    """The report as this user may read it (a reading held back for review is left out)."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=TITLE, author="Pneumonia screening", leftMargin=18 * mm, rightMargin=18 * mm
    )
    document.build(report_story(scan, user))
    return buffer.getvalue()


def report_story(scan: Scan, user) -> list[Flowable]:
    reading = scan.reading_for(user)
    return [
        Paragraph(TITLE, STYLES["Title"]),
        _paragraph(f"X-ray uploaded {_when(scan.created_at)}: {scan.original_filename} (scan {scan.pk})"),
        _paragraph(f"Status: {scan.get_status_display()}. {scan.status_reason}".strip()),
        _thumbnails(scan, reading),
        *_reading_section(scan, reading),
        *_review_section(scan),
        Spacer(1, 6 * mm),
        _paragraph(disclaimer(), "Italic"),
        _paragraph(f"Report made {_when(timezone.now())}.", "Italic"),
    ]


def disclaimer() -> str:
    """The same words as on the web pages, from the same template."""
    return " ".join(strip_tags(render_to_string("scans/_disclaimer.html", {"hide_link": True})).split())


def _reading_section(scan: Scan, reading: Prediction | None) -> list[Flowable]:
    heading = Paragraph("Computer reading", STYLES["Heading2"])
    if reading is None:
        return [heading, _paragraph(_no_reading_reason(scan))]
    call = reading.band_words
    flag = "Flagged for a radiologist's review." if reading.needs_review else "Not flagged for review."
    return [
        heading,
        _paragraph(f"{call}: {reading.display_percent} estimated chance of pneumonia. {flag}"),
        _paragraph(f"Model version {reading.model_version}, read {_when(reading.created_at)}."),
    ]


def _no_reading_reason(scan: Scan) -> str:
    if not scan.is_finished:
        return "Not ready yet: the computer is still reading the X-ray."
    if scan.status != Scan.Status.DONE:
        return "The computer could not read this image."
    return "Held until a radiologist has reviewed the X-ray."


def _review_section(scan: Scan) -> list[Flowable]:
    review = scan.latest_review
    heading = Paragraph("Radiologist's review", STYLES["Heading2"])
    if review is None:
        return [heading, _paragraph("No radiologist has reviewed this X-ray.")]
    # Patient-facing fields only: the internal note is for clinicians and never printed.
    lines = [heading, _paragraph(f"Finding: {review.get_finding_display()} ({_when(review.created_at)}).")]
    if review.patient_note:
        lines.append(_paragraph(review.patient_note))
    return lines


def _thumbnails(scan: Scan, reading: Prediction | None) -> Flowable:
    xray = _stored_picture(scan.image)
    if xray is None:
        return _paragraph("The X-ray image is not available.")
    cells = [_pdf_image(xray)]
    heatmap = _stored_picture(reading.heatmap, grey=False) if reading and reading.heatmap else None
    if heatmap is not None:
        overlay = Image.alpha_composite(xray.convert("RGBA"), heatmap.convert("RGBA").resize(xray.size))
        cells.append(_pdf_image(overlay.convert("RGB")))
    return Table([cells])


def _stored_picture(field_file, grey: bool = True) -> Image.Image | None:
    try:
        with field_file.open("rb") as stored:
            data = stored.read()
        if grey:  # any bit depth, as the model reads it
            picture = Image.fromarray(np.rint(decode(data).grey * 255).astype(np.uint8), mode="L")
        else:
            # RGBA, so a palette overlay is shrunk with a smooth filter rather than nearest-pixel.
            picture = Image.open(io.BytesIO(data)).convert("RGBA")
    except (FileNotFoundError, UnreadableImage, OSError):
        return None
    picture.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    return picture


def _pdf_image(picture: Image.Image) -> PdfImage:
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    buffer.seek(0)
    width, height = picture.size
    return PdfImage(buffer, width=THUMBNAIL_WIDTH, height=THUMBNAIL_WIDTH * height / width)


def _paragraph(text: str, style: str = "BodyText") -> Paragraph:
    return Paragraph(escape(text), STYLES[style])


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "j M Y, H:i")
