"""Print the shipped model's figures as Markdown tables: `python -m ml.report [--model DIR]`.

The model card carries these tables; regenerate them after `python -m ml.export`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.constants import ARTIFACTS_DIR, MANIFEST_NAME

SETS = (
    ("report", "Locked report split"),
    ("proxy_report", "Shift proxy (report half)"),
    ("report_perturbed", "Locked report split, perturbed copies"),
    ("selection", "Selection split *(optimistic: chosen on)*"),
    ("proxy_selection", "Shift proxy, selection half *(optimistic)*"),
    ("report_shifted", "Report split + proxy report half, under every shift family"),
)


def _interval(metrics: dict, key: str) -> str:
    low, high = metrics["confidence_intervals_95"][key]
    return f"{metrics[key]:.3f} ({low:.3f}–{high:.3f})"


def metrics_table(manifest: dict) -> str:
    threshold = manifest["calibration"]["threshold"]
    low = manifest["calibration"]["review_band"][0]
    lines = [
        "| Set | Images (pneumonia / normal) | AUC (95 % CI) | Accuracy | Sensitivity | Specificity | ECE "
        f"| Flagged (p ≥ {low:.2f}): sensitivity | share of films | share of normal films |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, name in SETS:
        m = manifest["metrics"].get(key)
        if not m:
            continue
        flagged = m["flagged_for_review"]
        lines.append(
            f"| {name} | {m['images']} ({m['pneumonia']} / {m['normal']}) | {_interval(m, 'auc')} "
            f"| {_interval(m, 'accuracy')} | {_interval(m, 'sensitivity')} | {_interval(m, 'specificity')} "
            f"| {m['ece']:.3f} | {flagged['sensitivity']:.3f} | {flagged['share_of_images']:.1%} "
            f"| {flagged['share_of_normal_images']:.1%} |"
        )
    lines.append("")
    lines.append(
        f"Operating point: pneumonia at calibrated probability ≥ {threshold:.3f}; "
        f"indeterminate (radiologist review) from {low:.3f}."
    )
    return "\n".join(lines)


def shift_table(manifest: dict) -> str:
    """Each acquisition shift family (ml.shift) on the locked report split and the proxy's report half."""
    lines = [
        "| Shift family | Films read (refused by the gate) | AUC | Accuracy | Sensitivity | Specificity | ECE "
        "| Flagged: sensitivity | share of normal films |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in manifest.get("shift_families", {}).items():
        flagged = m["flagged_for_review"]
        lines.append(
            f"| {name.replace('_', ' ')} | {m['images']} ({m['refused_by_gate']}) | {m['auc']:.3f} "
            f"| {m['accuracy']:.3f} | {m['sensitivity']:.3f} | {m['specificity']:.3f} | {m['ece']:.3f} "
            f"| {flagged['sensitivity']:.3f} | {flagged['share_of_normal_images']:.1%} |"
        )
    return "\n".join(lines)


def heatmap_table(manifest: dict) -> str:
    heatmap = manifest["heatmap"]
    lines = [
        f"Heatmap drawn from `{heatmap['source']}`. Probability lost when the part of the image is greyed out "
        "(pneumonia films):",
        "",
        "| Set | hottest 10 % | random 10 % | hottest 20 % | random 20 % | heat in outer tenth (flat map) "
        "| peak in outer tenth |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(f"Selection split, `{source}`", figures) for source, figures in heatmap["selection"].items()]
    rows += [(name, heatmap["reported"][key]) for key, name in SETS[:2]]
    for name, f in rows:
        lines.append(
            f"| {name} | {f['heatmap_0.10']:.3f} | {f['random_0.10']:.3f} | {f['heatmap_0.20']:.3f} "
            f"| {f['random_0.20']:.3f} | {f['border_heat']:.1%} ({f['flat_map_border_heat']:.1%}) "
            f"| {f['peak_in_border']:.1%} |"
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
        f"Genuine X-rays refused: {gate['genuine_report_xrays_refused']:.2%} of "
        f"{gate['genuine_report_xrays']} report-split, shift-proxy and perturbed films."
    )
    return "\n".join(lines)


def training_line(manifest: dict) -> str:
    runs = manifest["training"]
    parts = [
        f"seed {run['seed']}: {run['epochs']} epochs, {run['training_seconds'] / 60:.0f} min "
        f"({run['seconds_per_epoch']:.0f} s/epoch)"
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
    for section in (metrics_table, shift_table, heatmap_table, gate_table, training_line):
        print(section(manifest))
        print()


if __name__ == "__main__":
    main()
