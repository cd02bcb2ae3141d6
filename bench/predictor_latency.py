"""Per-image latency of the serving path: `python bench/predictor_latency.py [--repeats N] [--threads T ...]`.

Measures, side by side in one run, `Predictor.predict` on a 224x224 JPEG (decode, preprocessing,
gate, LiteRT model, calibration, heatmap) against the bare minimum for the same model file (Pillow
decode + resize + one interpreter invoke), and prints JSON lines and a table. Not a test: figures only.

Both run at each thread count: one thread is what each process gets when a worker runs one process per
core (the throughput set-up); every core is what a single worker process gets by default
(`SCAN_MODEL_THREADS`, see inference/worker_model.py).
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

from inference.worker_model import available_cores  # noqa: E402
from ml.constants import DEFAULT_DATA_DIR, IMAGE_SIZE  # noqa: E402
from ml.predictor import Predictor  # noqa: E402


def timed_in_turn(functions: list, repeats: int) -> list[list[float]]:
    """Samples of each function, run in turn (a, b, a, b, ...): a burst of noise on this shared machine
    then slows both alike instead of whichever happened to be running."""
    for _ in range(max(5, repeats // 20)):
        for function in functions:
            function()
    samples = [[] for _ in functions]
    for _ in range(repeats):
        for function, taken in zip(functions, samples, strict=True):
            started = time.perf_counter()
            function()
            taken.append((time.perf_counter() - started) * 1000)
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


def measure(data: bytes, threads: int, repeats: int) -> list[dict]:
    predictor = Predictor.load(num_threads=threads)

    def bare_minimum():
        image = Image.open(io.BytesIO(data)).convert("L").resize((IMAGE_SIZE, IMAGE_SIZE))
        predictor.run_model((np.asarray(image, dtype=np.float32) / 255.0)[np.newaxis, ..., np.newaxis])

    suffix = f", {threads} thread{'s' if threads > 1 else ''}"
    predict_samples, bare_samples = timed_in_turn([lambda: predictor.predict(data), bare_minimum], repeats)
    predict = summary(f"predictor.predict (224x224 JPEG){suffix}", predict_samples)
    bare = summary(f"bare minimum: decode + resize + invoke{suffix}", bare_samples)
    ratio = {"bench": f"ratio predict/bare (p50){suffix}", "value": round(predict["p50_ms"] / bare["p50_ms"], 2)}
    return [predict, bare, ratio]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--threads", type=int, action="append", help="default: 1 and every available core")
    parser.add_argument("--image", type=Path, default=DEFAULT_DATA_DIR / "NORMAL" / "IM-0115-0001.jpeg")
    args = parser.parse_args(argv)
    data = args.image.read_bytes()
    results = [
        row
        for threads in args.threads or sorted({1, available_cores()})
        for row in measure(data, threads, args.repeats)
    ]
    for result in results:
        print(json.dumps(result))
    print(f"\nmodel {Predictor.load().version}, {args.repeats} runs each")
    print(f"{'path':<56} {'p50 ms':>8} {'p95 ms':>8}")
    for result in results:
        if "value" in result:
            print(f"{result['bench']:<56} {result['value']:>8.2f}")
        else:
            print(f"{result['bench']:<56} {result['p50_ms']:>8.2f} {result['p95_ms']:>8.2f}")


if __name__ == "__main__":
    main()
