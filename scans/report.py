"""A scan's PDF report: thumbnails, the computer reading, the radiologist's review and the disclaimer.

Made on request and never stored, so deleting a scan leaves no report behind.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import strip_tags
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table
from reportlab.platypus import Image as PdfImage

from ml.errors import UnreadableImage
from ml.preprocessing import decode
from scans.models import Prediction, Scan

THUMBNAIL_PIXELS = 800
THUMBNAIL_WIDTH = 80 * mm
TITLE = _("Chest X-ray screening report")
STYLES = getSampleStyleSheet()
# Reportlab's standard fonts need no embedding, but they cover only Windows-1252: the Latin alphabets
# of Spanish, French and Portuguese, not Chinese, nor a Polish file name or a Vietnamese note. Those
# are set in a Unicode font shipped with the portal and embedded (subset) in the PDF: a PDF that only
# names Adobe's CID font draws nothing in a reader without Adobe's Chinese language pack (poppler's).
UNICODE_FONT = "WenQuanYiMicroHei"
pdfmetrics.registerFont(TTFont(UNICODE_FONT, Path(__file__).parent / "fonts" / "wqy-microhei.ttc", subfontIndex=0))
UNICODE_STYLES = {
    name: ParagraphStyle(f"{name}-unicode", parent=STYLES[name], fontName=UNICODE_FONT, wordWrap="CJK")
    for name in ("Title", "Heading2", "BodyText", "Italic")
}


def render_report(scan: Scan, user) -> bytes:
    """The report as this user may read it (a reading held back for review is left out), in the active
    language."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=str(TITLE),
        author=gettext("Pneumonia screening"),
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    document.build(report_story(scan, user))
    return buffer.getvalue()


def report_story(scan: Scan, user) -> list[Flowable]:
    reading = scan.reading_for(user)
    status = gettext("Status: %(status)s.") % {"status": scan.get_status_display()}
    return [
        Paragraph(escape(str(TITLE)), _style("Title")),
        # Translators: the PDF report's first line: when, the file's name and the scan's number.
        _paragraph(
            gettext("X-ray uploaded %(when)s: %(filename)s (scan %(number)s)")
            % {"when": _when(scan.created_at), "filename": scan.original_filename, "number": scan.pk}
        ),
        _paragraph(f"{status} {scan.shown_status_reason}".strip()),
        _thumbnails(scan, reading),
        *_reading_section(scan, reading),
        *_review_section(scan),
        Spacer(1, 6 * mm),
        _paragraph(disclaimer(), "Italic"),
        _paragraph(gettext("Report made %(when)s.") % {"when": _when(timezone.now())}, "Italic"),
    ]


def disclaimer() -> str:
    """The same words as on the web pages, from the same template."""
    return " ".join(strip_tags(render_to_string("scans/_disclaimer.html", {"hide_link": True})).split())


def _reading_section(scan: Scan, reading: Prediction | None) -> list[Flowable]:
    heading = Paragraph(escape(gettext("Computer reading")), _style("Heading2"))
    if reading is None:
        return [heading, _paragraph(_no_reading_reason(scan))]
    if reading.needs_review:
        flag = gettext("Flagged for a radiologist's review.")
    else:
        flag = gettext("Not flagged for review.")
    # Translators: band is the reading ("Uncertain", "Pneumonia suspected"...), percent e.g. "82%".
    call = gettext("%(band)s: %(percent)s estimated chance of pneumonia.") % {
        "band": reading.band_words,
        "percent": reading.display_percent,
    }
    return [
        heading,
        _paragraph(f"{call} {flag}"),
        _paragraph(
            gettext("Model version %(version)s, read %(when)s.")
            % {"version": reading.model_version, "when": _when(reading.created_at)}
        ),
    ]


def _no_reading_reason(scan: Scan) -> str:
    if not scan.is_finished:
        return gettext("Not ready yet: the computer is still reading the X-ray.")
    if scan.status != Scan.Status.DONE:
        return gettext("The computer could not read this image.")
    return gettext("Held until a radiologist has reviewed the X-ray.")


def _review_section(scan: Scan) -> list[Flowable]:
    review = scan.latest_review
    heading = Paragraph(escape(gettext("Radiologist's review")), _style("Heading2"))
    if review is None:
        return [heading, _paragraph(gettext("No radiologist has reviewed this X-ray."))]
    # Patient-facing fields only: the internal note is for clinicians and never printed.
    finding = gettext("Finding: %(finding)s (%(when)s).") % {
        "finding": review.get_finding_display(),
        "when": _when(review.created_at),
    }
    lines = [heading, _paragraph(finding)]
    if review.patient_note:
        lines.append(_paragraph(review.patient_note))
    return lines


def _thumbnails(scan: Scan, reading: Prediction | None) -> Flowable:
    xray = _stored_picture(scan.image)
    if xray is None:
        return _paragraph(gettext("The X-ray image is not available."))
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
    return Paragraph(escape(text), _style(style, text))


def _style(name: str, text: str = "") -> ParagraphStyle:
    """The style in a font that has the active language's characters and the text's own (a file name
    or a radiologist's note may be in any script)."""
    chinese = (get_language() or "").lower().startswith("zh")
    return UNICODE_STYLES[name] if chinese or not _standard_font_draws(text) else STYLES[name]


def _standard_font_draws(text: str) -> bool:
    try:
        text.encode("cp1252")  # the standard fonts' WinAnsi encoding
    except UnicodeEncodeError:
        return False
    return True


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")
