"""Acquisition shifts of raw (pre-equalisation) grey images: films that look like they came from other
machines, other hospitals or other technicians. Each copy is a JPEG file's bytes, so it reaches the
model through `preprocess`, the serving path.

`perturb` mixes mild changes (the "acquisition" family). `SHIFT_FAMILIES` each push one direction
hard: a softer detector, heavier blur, a smaller film on a wider field, a tighter crop, noise, tilt,
edge enhancement. Histogram equalisation removes global exposure, so what survives it is sharpness,
grain and geometry; those are the shifts that moved v2's probabilities on films from elsewhere. The
out-of-the-box calibration is fitted on the selection halves under every family, so its threshold and
review band are set where they hold across shifts, not where the training hospital's films put them.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageFilter

from ml.constants import SEED


def _image(grey: np.ndarray) -> Image.Image:
    return Image.fromarray(np.rint(np.clip(grey, 0, 1) * 255).astype(np.uint8), mode="L")


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


def _jpeg(grey: np.ndarray, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    _image(grey).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def perturb(grey: np.ndarray, rng: np.random.Generator) -> bytes:
    """One random acquisition change of a grey image in [0, 1], as a JPEG of the same size."""
    size = grey.shape[0]
    image = _image(grey)
    crop = rng.uniform(0.82, 1.0)
    width = int(size * crop)
    left, top = rng.integers(0, size - width + 1, size=2)
    image = image.crop((left, top, left + width, top + width)).resize((size, size), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8)))
    values = _grey(image)
    values = np.power(values, np.exp(rng.uniform(-0.6, 0.6)))
    low, high = rng.uniform(0.0, 0.12), rng.uniform(0.88, 1.0)
    values = np.clip((values - low) / (high - low), 0, 1)
    values = np.clip(values + rng.normal(0, rng.uniform(0.0, 0.05), values.shape), 0, 1)
    return _jpeg(values, quality=int(rng.integers(35, 90)))


def harder_copies(greys: np.ndarray, copies: int = 2, seed: int = SEED) -> list[bytes]:
    """`copies` perturbed JPEGs of each image, in order image0 copy0, image0 copy1, ..."""
    rng = np.random.default_rng(seed)
    return [perturb(grey, rng) for grey in greys for _ in range(copies)]


def lower_resolution(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = grey.shape[0]
    low = int(size * rng.uniform(0.3, 0.55))
    return _grey(
        _image(grey).resize((low, low), Image.Resampling.BILINEAR).resize((size, size), Image.Resampling.BILINEAR)
    )


def blur(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return _grey(_image(grey).filter(ImageFilter.GaussianBlur(rng.uniform(1.5, 3.0))))


def wider_field(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The chest smaller on a dark field, as a wider collimation or a smaller child shows it."""
    size = grey.shape[0]
    inner = int(size * rng.uniform(0.7, 0.85))
    canvas = Image.new("L", (size, size), int(rng.uniform(0, 30)))
    left, top = (int(v) for v in rng.integers(0, size - inner + 1, size=2))
    canvas.paste(_image(grey).resize((inner, inner), Image.Resampling.BILINEAR), (left, top))
    return _grey(canvas)


def tighter_crop(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    size = grey.shape[0]
    width = int(size * rng.uniform(0.7, 0.82))
    left, top = (int(v) for v in rng.integers(0, size - width + 1, size=2))
    return _grey(
        _image(grey).crop((left, top, left + width, top + width)).resize((size, size), Image.Resampling.BILINEAR)
    )


def noise(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.clip(grey + rng.normal(0, rng.uniform(0.05, 0.1), grey.shape), 0, 1)


def tilt(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(8, 15) * rng.choice([-1, 1])
    return _grey(_image(grey).rotate(angle, resample=Image.Resampling.BILINEAR))


def edge_enhanced(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another gamma and a vendor's unsharp masking, which many CR/DX consoles apply."""
    curved = np.power(np.clip(grey, 0, 1), np.exp(rng.uniform(-0.8, 0.8)))
    return _grey(_image(curved).filter(ImageFilter.UnsharpMask(radius=2, percent=int(rng.uniform(100, 250)))))


SHIFT_FAMILIES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "lower_resolution": lower_resolution,
    "blur": blur,
    "wider_field": wider_field,
    "tighter_crop": tighter_crop,
    "noise": noise,
    "tilt": tilt,
    "edge_enhanced": edge_enhanced,
}


def family_copies(greys: np.ndarray, family: str, seed: int = SEED) -> list[bytes]:
    """One JPEG of each image under one shift family ("acquisition": `perturb`), the same for a seed."""
    rng = np.random.default_rng(seed)
    if family == "acquisition":
        return [perturb(grey, rng) for grey in greys]
    change = SHIFT_FAMILIES[family]
    return [_jpeg(change(grey, rng)) for grey in greys]
