"""The one path from uploaded bytes to the model's input tensor, shared by training and serving.

Every image, whatever its format or bit depth, is decoded to a grey float image in [0, 1], squashed
(not cropped) to IMAGE_SIZE x IMAGE_SIZE as the training images were, and histogram-equalised so that
exposure and contrast differences between X-ray machines matter less to the model.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ml.constants import GREY_LEVELS, IMAGE_SIZE, MAX_IMAGE_PIXELS
from ml.errors import UnreadableImage, gettext_noop
from ml.images import DecodedImage, stretch, too_large

ACCEPTED_FORMATS = ("JPEG", "PNG")
DICOM_MAGIC_OFFSET = 128
DICOM_MAGIC = b"DICM"
# Chroma above which an upload's colour is kept (so the gate can tell it is a photograph).
COLOUR_KEPT_ABOVE = 0.01
_HIGH_BIT_MODES = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0}


def is_dicom(data: bytes) -> bool:
    return data[DICOM_MAGIC_OFFSET : DICOM_MAGIC_OFFSET + 4] == DICOM_MAGIC


def read_bytes(source: bytes | str | Path) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise UnreadableImage(
            gettext_noop("The file could not be read (%(detail)s)."), detail=error.strerror or str(error)
        ) from error


def decode(source: bytes | str | Path) -> DecodedImage:
    """Decode JPEG, PNG or DICOM bytes fully, refusing anything else with a reason a person can act on."""
    data = read_bytes(source)
    if not data:
        raise UnreadableImage(gettext_noop("The file is empty."))
    if is_dicom(data):
        from ml.dicom import decode_dicom  # pydicom is only imported when a DICOM arrives

        return decode_dicom(data)
    return _decode_picture(data)


def _decode_picture(data: bytes) -> DecodedImage:
    image = _open_picture(data)
    if getattr(image, "n_frames", 1) > 1:
        raise UnreadableImage(
            gettext_noop("This image has several frames (an animation). Upload a single still X-ray image.")
        )
    source_format = image.format or "PNG"  # exif_transpose returns a copy without it
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadableImage(
            gettext_noop(
                "The image is damaged or incomplete and could not be decoded. "
                "Export it again from the X-ray viewer and upload the new file."
            )
        ) from error
    high_bit_depth = image.mode in _HIGH_BIT_MODES or image.mode in ("I", "F")
    grey, colourfulness = _to_grey(image)
    rgb = np.asarray(_flatten(image).convert("RGB")) if colourfulness > COLOUR_KEPT_ABOVE else None
    return DecodedImage(grey, colourfulness, source_format, high_bit_depth, rgb)


def _open_picture(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise too_large() from error
    except Image.UnidentifiedImageError as error:
        raise UnreadableImage(
            gettext_noop("This file is not a JPEG, PNG or DICOM image. Upload the X-ray as a JPEG, PNG or DICOM file.")
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise UnreadableImage(
            gettext_noop(
                "The image header is damaged and the file could not be read. "
                "Export it again from the X-ray viewer and upload the new file."
            )
        ) from error
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large(width, height)
    if width < 32 or height < 32:
        raise UnreadableImage(
            gettext_noop(
                "The image is only %(width)s×%(height)s pixels, too small to read. "
                "Upload the original X-ray image, not a thumbnail."
            ),
            width=width,
            height=height,
        )
    return image


def _to_grey(image: Image.Image) -> tuple[np.ndarray, float]:
    """One grey channel in [0, 1] and how colourful the original was."""
    if image.mode in _HIGH_BIT_MODES:
        return np.asarray(image, dtype=np.float32) / _HIGH_BIT_MODES[image.mode], 0.0
    if image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float32)
        return stretch(values), 0.0
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0, 0.0
    pixels = np.asarray(_flatten(image).convert("RGB"))
    grey = (pixels.astype(np.float32) / 255.0) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    # Channel extremes on the uint8 pixels, element-wise: the same values as max/min over axis 2 of the
    # scaled floats (scaling is monotonic), ten times faster than numpy's reduction over a 3-long axis.
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    high = np.maximum(np.maximum(red, green), blue).astype(np.float32) / 255.0
    low = np.minimum(np.minimum(red, green), blue).astype(np.float32) / 255.0
    return grey.astype(np.float32), float((high - low).mean())


def _flatten(image: Image.Image) -> Image.Image:
    """Drop transparency: transparent areas of an exported radiograph are background, black on an X-ray."""
    if image.mode not in ("LA", "La", "PA", "RGBA", "RGBa", "P") and "transparency" not in image.info:
        return image
    background = Image.new("RGBA", image.size, (0, 0, 0, 255))
    return Image.alpha_composite(background, image.convert("RGBA")).convert("RGB")


def squash(grey: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize to size x size ignoring aspect ratio, as the training images were made (antialiased)."""
    if grey.shape == (size, size):
        return grey.astype(np.float32)
    resized = Image.fromarray(grey.astype(np.float32), mode="F").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def equalise(grey: np.ndarray, levels: int = GREY_LEVELS) -> np.ndarray:
    """Global histogram equalisation on `levels` grey levels, returning floats in [0, 1]."""
    quantised = np.rint(stretch(grey) * (levels - 1)).astype(np.int64)
    cumulative = np.cumsum(np.bincount(quantised.ravel(), minlength=levels))
    darkest = cumulative[quantised.min()]
    total = quantised.size
    if total == darkest:
        return np.zeros(grey.shape, dtype=np.float32)
    return ((cumulative[quantised] - darkest) / (total - darkest)).astype(np.float32)


def to_model_input(grey: np.ndarray) -> np.ndarray:
    """The model's input tensor (IMAGE_SIZE, IMAGE_SIZE, 1) for a decoded grey image."""
    return equalise(squash(grey))[..., np.newaxis]


def preprocess(source: bytes | str | Path) -> np.ndarray:
    """Bytes or a path straight to the model's input tensor."""
    return to_model_input(decode(source).grey)


def encode_png(decoded: DecodedImage) -> bytes:
    """A clean PNG of the decoded pixels: no metadata, no trailing bytes, nothing of the upload's container.

    Grey images keep 16 bits when the source had more than 8, so the radiologist's viewer keeps the range.
    """
    if decoded.rgb is not None:
        image = Image.fromarray(decoded.rgb, mode="RGB")
    elif decoded.high_bit_depth:
        image = Image.fromarray(np.rint(decoded.grey * 65535).astype(np.uint16))
    else:
        image = Image.fromarray(np.rint(decoded.grey * 255).astype(np.uint8), mode="L")
    buffer = io.BytesIO()
    # zlib level 1: the same pixels as the default level, in a slightly larger file written and read
    # much faster, which a large 16-bit X-ray's upload feels.
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
