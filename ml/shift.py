"""Acquisition-style perturbations of raw (pre-equalisation) grey images, used to build harder
copies of the evaluation splits: films that look like they came from other machines. Each copy is a
JPEG file's bytes, so it reaches the model through `preprocess`, the serving path.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from ml.constants import SEED


def perturb(grey: np.ndarray, rng: np.random.Generator) -> bytes:
    """One random acquisition change of a grey image in [0, 1], as a JPEG of the same size."""
    size = grey.shape[0]
    image = Image.fromarray(np.rint(np.clip(grey, 0, 1) * 255).astype(np.uint8), mode="L")
    crop = rng.uniform(0.82, 1.0)
    width = int(size * crop)
    left, top = rng.integers(0, size - width + 1, size=2)
    image = image.crop((left, top, left + width, top + width)).resize((size, size), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8)))
    values = np.asarray(image, dtype=np.float32) / 255.0
    values = np.power(values, np.exp(rng.uniform(-0.6, 0.6)))
    low, high = rng.uniform(0.0, 0.12), rng.uniform(0.88, 1.0)
    values = np.clip((values - low) / (high - low), 0, 1)
    values = np.clip(values + rng.normal(0, rng.uniform(0.0, 0.05), values.shape), 0, 1)
    buffer = io.BytesIO()
    Image.fromarray(np.rint(values * 255).astype(np.uint8)).save(buffer, "JPEG", quality=int(rng.integers(35, 90)))
    return buffer.getvalue()


def harder_copies(greys: np.ndarray, copies: int = 2, seed: int = SEED) -> list[bytes]:
    """`copies` perturbed JPEGs of each image, in order image0 copy0, image0 copy1, ..."""
    rng = np.random.default_rng(seed)
    return [perturb(grey, rng) for grey in greys for _ in range(copies)]
