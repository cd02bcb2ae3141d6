"""What every decoder produces and the helpers they share: below both the picture and DICOM decoders,
so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.constants import MAX_IMAGE_PIXELS
from ml.errors import UnreadableImage, gettext_noop


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded to one grey channel, with what the gate needs to know about its source."""

    grey: np.ndarray  # float32, H x W, values in [0, 1]
    colourfulness: float  # mean chroma of the original in [0, 1]; 0 for grey sources
    source_format: str  # "JPEG", "PNG" or "DICOM"
    high_bit_depth: bool = False  # more than 8 bits per pixel in the source
    rgb: np.ndarray | None = None  # uint8 H x W x 3, kept only for sources with visible colour

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.grey.shape
        return width, height


def too_large(width: int | None = None, height: int | None = None) -> UnreadableImage:
    limit = MAX_IMAGE_PIXELS // 1_000_000
    if not width:
        return UnreadableImage(
            gettext_noop(
                "The image is too large. The limit is %(limit)s megapixels; "
                "export a smaller copy of the X-ray and upload that."
            ),
            limit=limit,
        )
    return UnreadableImage(
        gettext_noop(
            "The image is too large (%(width)s×%(height)s pixels). The limit is %(limit)s megapixels; "
            "export a smaller copy of the X-ray and upload that."
        ),
        width=width,
        height=height,
        limit=limit,
    )


def stretch(values: np.ndarray) -> np.ndarray:
    """Map the value range linearly onto [0, 1]; a constant image becomes all zeros."""
    values = values.astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-12:
        return np.zeros_like(values)
    return (values - low) / (high - low)
