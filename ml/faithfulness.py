"""Does the heatmap point at what the model used? The deletion test and where the heat lies.

Deletion test: grey out the hottest share of the image (by the heatmap) and see how far the
calibrated probability falls, against greying out a random region of the same size drawn the same
way (the top of a random map at the heatmap's own resolution, so random regions are blobs of the
same grain, not scattered pixels). A faithful map makes its own region cost far more than a random one.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from ml.constants import IMAGE_SIZE

GREY = 0.5  # mid-grey in the equalised model input
DELETED_SHARES = (0.10, 0.20)
BORDER_SHARE = 0.10  # the outer tenth of each side


def upsampled(cell_map: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    image = Image.fromarray(np.asarray(cell_map, dtype=np.float32), mode="F")
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def hottest(heat: np.ndarray, share: float) -> np.ndarray:
    """Mask of the `share` of pixels with the most heat."""
    return heat >= np.quantile(heat, 1 - share)


def deleted(model_input: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = model_input.copy()
    out[mask] = GREY
    return out


def border_mask(size: int = IMAGE_SIZE, share: float = BORDER_SHARE) -> np.ndarray:
    rim = int(round(size * share))
    mask = np.ones((size, size), dtype=bool)
    mask[rim:-rim, rim:-rim] = False
    return mask


def heat_placement(heat: np.ndarray) -> dict:
    """Share of the heat in the outer tenth, and whether the peak sits there."""
    border = border_mask(heat.shape[0])
    positive = np.clip(heat, 0, None)
    total = positive.sum()
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    return {
        "border_heat": float(positive[border].sum() / total) if total > 0 else float(border.mean()),
        "peak_in_border": bool(border[peak]),
    }


def excess_drop(result: dict) -> float:
    """How much more probability the map's own regions cost than random ones, averaged over the shares."""
    return float(np.mean([result[f"heatmap_{s:.2f}"] - result[f"random_{s:.2f}"] for s in DELETED_SHARES]))


def deletion_test(probability, model_inputs: np.ndarray, cell_maps: np.ndarray, seed: int = 0) -> dict:
    """Mean calibrated-probability drop when the hottest / random DELETED_SHARES are greyed out.

    `probability(batch)` returns calibrated probabilities for model inputs (N, S, S, 1); `cell_maps`
    are the class activation maps (N, h, w) at the model's own resolution.
    """
    rng = np.random.default_rng(seed)
    base = probability(model_inputs)
    drops: dict[str, list[float]] = {}
    placements = []
    for model_input, cell_map, before in zip(model_inputs, cell_maps, base, strict=True):
        heat = upsampled(cell_map)
        placements.append(heat_placement(heat))
        noise = upsampled(rng.random(cell_map.shape))
        for share in DELETED_SHARES:
            pair = np.stack(
                [
                    deleted(model_input, hottest(heat, share)[..., None]),
                    deleted(model_input, hottest(noise, share)[..., None]),
                ]
            )
            hot, random = probability(pair)
            drops.setdefault(f"heatmap_{share:.2f}", []).append(before - hot)
            drops.setdefault(f"random_{share:.2f}", []).append(before - random)
    result = {key: float(np.mean(values)) for key, values in drops.items()}
    result["border_heat"] = float(np.mean([p["border_heat"] for p in placements]))
    result["peak_in_border"] = float(np.mean([p["peak_in_border"] for p in placements]))
    result["flat_map_border_heat"] = float(border_mask().mean())
    result["images"] = len(model_inputs)
    return result
