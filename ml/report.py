"""Print the shipped model's figures as Markdown tables: `python -m ml.report [--model DIR]`.

The README and the model card carry these tables; regenerate them after `python -m ml.export`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.constants import ARTIFACTS_DIR, MANIFEST_NAME

SETS = (("validation", "Validation (745 images, 405 patients)"), ("harder_validation", "Perturbed validation (1,490)"))


def _interval(metrics: dict, key: str) -> str:
    low, high = metrics["confidence_intervals_95"][key]
    return f"{metrics[key]:.3f} ({low:.3f}–{high:.3f})"


def metrics_table(manifest: dict) -> str:
    threshold = manifest["calibration"]["threshold"]
    low = manifest["calibration"]["review_band"][0]
    lines = [
        f"| Set | AUC (95 % CI) | Accuracy | Sensitivity | Specificity | ECE | Flagged sensitivity (p ≥ {low:.2f}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, name in SETS:
        m = manifest["metrics"][key]
        lines.append(
            f"| {name} | {_interval(m, 'auc')} | {_interval(m, 'accuracy')} | {_interval(m, 'sensitivity')} "
            f"| {_interval(m, 'specificity')} | {m['ece']:.3f} | {m['flagged_for_review']['sensitivity']:.3f} |"
        )
    lines.append("")
    lines.append(
        f"Operating point: pneumonia at calibrated probability ≥ {threshold:.3f}; "
        f"indeterminate (radiologist review) from {low:.3f}. At 0.5 instead: "
        + "; ".join(
            f"{name.split(' (')[0].lower()} accuracy {manifest['metrics'][key]['at_0.5']['accuracy']:.3f}"
            for key, name in SETS
        )
        + "."
    )
    return "\n".join(lines)


def gate_table(manifest: dict) -> str:
    gate = manifest["gate"]
    lines = ["| Constructed non-X-rays | Images | Refused |", "|---|---|---|"]
    for category, figures in gate["constructed_set"]["rejected_by_category"].items():
        lines.append(f"| {category} | {figures['images']} | {figures['rejected']:.1%} |")
    total = gate["constructed_set"]
    lines.append(f"| **all** | **{total['images']}** | **{total['rejected']:.1%}** |")
    lines.append("")
    lines.append(
        f"Genuine X-rays refused: {gate['genuine_validation_xrays_rejected']:.2%} of "
        f"{gate['genuine_validation_xrays']} validation images, "
        f"{gate['perturbed_validation_xrays_rejected']:.2%} of their perturbed copies."
    )
    return "\n".join(lines)


def training_line(manifest: dict) -> str:
    runs = manifest["training"]
    parts = [
        f"seed {run['seed']}: {run['epochs']} epochs, {run['training_seconds'] / 60:.0f} min "
        f"({run['seconds_per_epoch']:.0f} s/epoch), best epoch {run['best_epoch']}"
        for run in runs
    ]
    return f"{len(runs)} run(s) on {manifest['machine']}: " + "; ".join(parts) + "."


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ARTIFACTS_DIR)
    args = parser.parse_args(argv)
    path = args.model / MANIFEST_NAME if args.model.is_dir() else args.model
    manifest = json.loads(path.read_text())
    print(f"Model `{manifest['version']}`, exported {manifest['created']}.\n")
    print(metrics_table(manifest))
    print()
    print(gate_table(manifest))
    print()
    print(training_line(manifest))


if __name__ == "__main__":
    main()
