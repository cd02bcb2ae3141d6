"""Per-image latency of the serving path: `python bench/predictor_latency.py [--repeats N]`.

Measures, side by side in one run, `Predictor.predict` on a 224x224 JPEG (decode, preprocessing,
gate, LiteRT model, calibration, heatmap) against the bare minimum for the same model file (Pillow
decode + resize + one interpreter invoke), and prints JSON lines and a table. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.constants import DEFAULT_DATA_DIR, IMAGE_SIZE  # noqa: E402
from ml.predictor import Predictor  # noqa: E402


def timed(function, repeats: int) -> list[float]:
    for _ in range(max(5, repeats // 20)):
        function()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "bench": name,
        "n": len(samples),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--image", type=Path, default=DEFAULT_DATA_DIR / "NORMAL" / "IM-0115-0001.jpeg")
    args = parser.parse_args(argv)
    data = args.image.read_bytes()
    predictor = Predictor.load()

    def bare_minimum():
        image = Image.open(io.BytesIO(data)).convert("L").resize((IMAGE_SIZE, IMAGE_SIZE))
        predictor.run_model((np.asarray(image, dtype=np.float32) / 255.0)[np.newaxis, ..., np.newaxis])

    results = [
        summary("predictor.predict (224x224 JPEG)", timed(lambda: predictor.predict(data), args.repeats)),
        summary("bare minimum: Pillow decode + resize + invoke", timed(bare_minimum, args.repeats)),
    ]
    ratio = results[0]["p50_ms"] / results[1]["p50_ms"]
    for result in results:
        print(json.dumps(result))
    print(json.dumps({"bench": "ratio predict/bare (p50)", "value": round(ratio, 2)}))
    print(f"\nmodel {predictor.version}, {args.repeats} runs each, one thread")
    print(f"{'path':<50} {'p50 ms':>8} {'p95 ms':>8}")
    for result in results:
        print(f"{result['bench']:<50} {result['p50_ms']:>8.2f} {result['p95_ms']:>8.2f}")
    print(f"{'ratio (p50)':<50} {ratio:>8.2f}")


if __name__ == "__main__":
    main()
