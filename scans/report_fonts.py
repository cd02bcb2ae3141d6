"""The PDF report's paragraph styles in a font that has the active language's characters.

reportlab's built-in Helvetica and Times cover Latin-1 only: Spanish, French and Portuguese print, but
Chinese would come out as black boxes. For Chinese, Adobe's STSong-Light, a CID font every PDF reader
provides, so nothing is embedded and the report stays small.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping

from django.utils import translation
from reportlab.lib.styles import ParagraphStyle, StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

# Languages whose script the built-in fonts lack, and the font that has it.
CID_FONTS = {"zh-hans": "STSong-Light"}


@functools.cache
def sheet_for(language: str | None) -> StyleSheet1:
    sheet = getSampleStyleSheet()
    font = CID_FONTS.get(language or "")
    if font:
        pdfmetrics.registerFont(UnicodeCIDFont(font))
        for style in sheet.byName.values():
            if isinstance(style, ParagraphStyle):
                style.fontName = font  # one weight only: bold and italic are set in the same face
    return sheet


class StylesForLanguage(Mapping):
    """STYLES["Title"] and so on, for the language active when the report is drawn (the request's, or the
    recipient's in a worker): one module-level name, as reportlab's own sample sheet is used."""

    def __getitem__(self, name: str) -> ParagraphStyle:
        return sheet_for(translation.get_language())[name]

    def __iter__(self) -> Iterator[str]:
        return iter(sheet_for(translation.get_language()).byName)

    def __len__(self) -> int:
        return len(sheet_for(translation.get_language()).byName)
