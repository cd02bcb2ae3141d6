"""Turn the model's activation map into a transparent colour overlay for the detail page."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

OVERLAY_LONGEST_SIDE = 512
# Control points of a blue -> cyan -> yellow -> red ramp, like the "jet" maps radiologists know.
_RAMP = np.array([[0.0, 0, 0, 255], [0.35, 0, 200, 255], [0.6, 255, 230, 0], [1.0, 230, 0, 0]], dtype=np.float32)


def colourise(heatmap: np.ndarray) -> np.ndarray:
    """RGBA uint8 image for a heatmap in [0, 1]; weak activations fade to transparent."""
    values = np.clip(heatmap, 0.0, 1.0)
    channels = [np.interp(values, _RAMP[:, 0], _RAMP[:, c]) for c in (1, 2, 3)]
    alpha = np.clip((values - 0.15) / 0.6, 0.0, 1.0) * 220
    return np.stack(channels + [alpha], axis=-1).astype(np.uint8)


def overlay_size(width: int, height: int) -> tuple[int, int]:
    scale = OVERLAY_LONGEST_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_heatmap_png(heatmap: np.ndarray, width: int, height: int) -> bytes:
    """PNG overlay with the aspect ratio of the original image, so it lines up when stretched over it."""
    field = Image.fromarray(heatmap.astype(np.float32), mode="F").resize(
        overlay_size(width, height), Image.Resampling.BILINEAR
    )
    buffer = io.BytesIO()
    Image.fromarray(colourise(np.asarray(field)), mode="RGBA").save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
