"""The shipped calibration against the one it replaced, on the same films under every shift family:
`python scripts/compare_calibrations.py`.

Each film of the locked report split and the proxy's report half is read once per shift family
(ml.shift) through `Predictor.predict` (the gate included); both heads then read the same logit. The
manifest's `replaces` entry holds the replaced calibration. Prints a Markdown table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml import calibration, metrics  # noqa: E402
from ml.constants import ARTIFACTS_DIR, DEFAULT_DATA_DIR, SPLIT_NAME  # noqa: E402
from ml.data import load_splits  # noqa: E402
from ml.export import REPORT_SETS, shifted_sources  # noqa: E402
from ml.heads import Head  # noqa: E402
from ml.predictor import Predictor  # noqa: E402


def main() -> None:
    predictor = Predictor.load()
    replaced = predictor.manifest["replaces"]
    heads = {
        replaced["version"]: Head.from_manifest(replaced),
        predictor.version: predictor.shipped_head,
    }
    splits = load_splits(ARTIFACTS_DIR / SPLIT_NAME, DEFAULT_DATA_DIR)
    sources = shifted_sources(splits, REPORT_SETS)
    print("| Set | Model | Films | Accuracy | Sensitivity | Specificity | ECE | Flagged: sensitivity | normal films |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shift in ("as they are", *calibration.SHIFTS):
        labels, logits = [], []
        for name in REPORT_SETS:
            key = name if shift == "as they are" else f"{name}/{shift}"
            readings = [predictor.predict(source) for source in sources[key]]
            truth = [e.label for e in splits[name]]
            labels += [t for t, r in zip(truth, readings, strict=True) if not r.rejected]
            logits += [r.logit for r in readings if not r.rejected]
        labels, logits = np.array(labels), np.array(logits)
        for version, head in heads.items():
            p = head.probabilities(logits)
            point = metrics.at_threshold(labels, p, head.threshold)
            flagged = p >= head.review_from
            print(
                f"| {shift.replace('_', ' ')} | `{version}` | {len(labels)} | {point['accuracy']:.3f} "
                f"| {point['sensitivity']:.3f} | {point['specificity']:.3f} "
                f"| {metrics.expected_calibration_error(labels, p):.3f} | {flagged[labels == 1].mean():.3f} "
                f"| {flagged[labels == 0].mean():.1%} |"
            )


if __name__ == "__main__":
    main()
