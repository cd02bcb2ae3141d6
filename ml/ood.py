"""A constructed set of things that are not frontal chest X-rays, for building and reporting the gate.

Real pictures come from scikit-image's bundled sample images (photographs in colour and grey, a scanned
page, microscopy, a retina, a CT phantom), cut and resized several ways; the rest is generated:
documents, screenshots, noise, blank and gradient images. Every item is PNG or JPEG bytes, as an upload
would be. Genuine X-rays are not in here: the gate's false rejections are measured on validation X-rays.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ml.constants import SEED

SAMPLE_PHOTOS = {
    "colour photograph": [
        "astronaut.png",
        "coffee.png",
        "chelsea.png",
        "rocket.jpg",
        "motorcycle_left.png",
        "hubble_deep_field.jpg",
        "color.png",
        "logo.png",
    ],
    "grey photograph": [
        "camera.png",
        "moon.png",
        "coins.png",
        "brick.png",
        "grass.png",
        "gravel.png",
        "clock_motion.png",
        "horse.png",
    ],
    "other medical image": ["phantom.png", "microaneurysms.png", "retina.jpg", "cell.png", "ihc.png"],
    "document": ["page.png", "text.png"],
}


@dataclass(frozen=True)
class OutOfDistributionItem:
    category: str
    name: str
    data: bytes


def _encode(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(array)
    if fmt == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.save(buffer, fmt, quality=90)
    return buffer.getvalue()


def _sample_dir() -> Path | None:
    try:
        import skimage.data
    except ImportError:
        return None
    return Path(skimage.data.__file__).parent


def _variants(image: Image.Image, rng: np.random.Generator, count: int):
    """The whole image plus random crops, some turned grey, at X-ray-like sizes."""
    yield image.resize((512, 512))
    width, height = image.size
    for _ in range(count - 1):
        scale = rng.uniform(0.5, 0.9)
        w, h = int(width * scale), int(height * scale)
        left, top = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
        yield image.crop((left, top, left + w, top + h)).resize(
            (int(rng.integers(300, 900)), int(rng.integers(300, 900)))
        )


def sample_pictures(rng: np.random.Generator, per_image: int = 4):
    directory = _sample_dir()
    if directory is None:
        return
    for category, names in SAMPLE_PHOTOS.items():
        for name in names:
            path = directory / name
            if not path.exists():
                continue
            image = Image.open(path)
            image = image.convert("RGB") if image.mode not in ("L", "RGB") else image
            for index, variant in enumerate(_variants(image, rng, per_image)):
                yield OutOfDistributionItem(
                    category, f"{name}#{index}", _encode(np.asarray(variant), "PNG" if index % 2 else "JPEG")
                )
            if category == "colour photograph":  # the same photo in grey must be caught without colour
                yield OutOfDistributionItem(
                    "grey photograph", f"{name}#grey", _encode(np.asarray(image.convert("L").resize((600, 500))))
                )


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


WORDS = "patient referral chest radiograph report findings impression lungs clear no acute consolidation".split()


def document(rng: np.random.Generator) -> np.ndarray:
    image = Image.new("L", (850, 1100), int(rng.integers(225, 256)))
    draw = ImageDraw.Draw(image)
    y = 60
    while y < 1040:
        line = " ".join(rng.choice(WORDS, size=int(rng.integers(4, 10))))
        draw.text((60, y), line, fill=int(rng.integers(0, 60)), font=_font(int(rng.integers(14, 26))))
        y += int(rng.integers(24, 40))
    return np.asarray(image)


def screenshot(rng: np.random.Generator) -> np.ndarray:
    background = tuple(int(v) for v in rng.integers(200, 256, 3))
    image = Image.new("RGB", (1280, 800), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 60), fill=tuple(int(v) for v in rng.integers(20, 120, 3)))
    for _ in range(int(rng.integers(4, 12))):
        x, y = int(rng.integers(0, 1100)), int(rng.integers(80, 700))
        draw.rectangle(
            (x, y, x + int(rng.integers(80, 400)), y + int(rng.integers(30, 200))),
            fill=tuple(int(v) for v in rng.integers(0, 256, 3)),
            outline=(0, 0, 0),
        )
        draw.text((x + 8, y + 8), " ".join(rng.choice(WORDS, 3)), fill=(0, 0, 0), font=_font(18))
    array = np.asarray(image)
    return np.asarray(image.convert("L")) if rng.random() < 0.5 else array


def noise(rng: np.random.Generator) -> np.ndarray:
    kind = rng.integers(0, 3)
    shape = (int(rng.integers(256, 1024)), int(rng.integers(256, 1024)))
    if kind == 0:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == 1:
        return np.clip(rng.normal(128, 40, shape), 0, 255).astype(np.uint8)
    return rng.integers(0, 256, shape + (3,), dtype=np.uint8)


def blank(rng: np.random.Generator) -> np.ndarray:
    shape = (int(rng.integers(256, 1024)), int(rng.integers(256, 1024)))
    kind = rng.integers(0, 3)
    if kind == 0:
        return np.full(shape, int(rng.integers(0, 256)), dtype=np.uint8)
    if kind == 1:
        return np.tile(np.linspace(0, 255, shape[1]), (shape[0], 1)).astype(np.uint8)
    return np.clip(np.full(shape, float(rng.integers(20, 235))) + rng.normal(0, 1.5, shape), 0, 255).astype(np.uint8)


GENERATORS = {"document": document, "screenshot": screenshot, "noise": noise, "blank": blank}


def constructed_set(seed: int = SEED, generated_per_kind: int = 25) -> list[OutOfDistributionItem]:
    rng = np.random.default_rng(seed)
    items = list(sample_pictures(rng))
    for category, generate in GENERATORS.items():
        for index in range(generated_per_kind):
            items.append(OutOfDistributionItem(category, f"{category}-{index}", _encode(generate(rng))))
    return items
