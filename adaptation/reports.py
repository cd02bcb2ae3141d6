"""An adaptation report as the staff page shows it: the figures side by side with their 95 % intervals,
and the reliability diagram drawn as an inline SVG (with a table for those who cannot see it)."""

from __future__ import annotations

from dataclasses import dataclass

METRICS = (
    ("auc", "AUC", False),
    ("accuracy", "Accuracy", True),
    ("sensitivity", "Sensitivity", True),
    ("specificity", "Specificity", True),
    ("ece", "Calibration error (ECE)", False),
    ("flagged_sensitivity", "Pneumonia caught by the review flag", True),
    ("normals_flagged", "Normal films flagged for review", True),
    ("log_loss", "Log-loss", False),
)
HEADS = ("shipped", "adapted")
# The SVG's plot area, in its own units: 0..1 on both axes maps onto it.
LEFT, TOP, SIZE = 48, 12, 240


@dataclass(frozen=True)
class FigureRow:
    key: str
    name: str
    shipped: str
    adapted: str


def figure_rows(report: dict) -> list[FigureRow]:
    figures = report.get("figures") or {}
    return [
        FigureRow(key, name, *(_format(figures.get(head, {}).get(key), percent) for head in HEADS))
        for key, name, percent in METRICS
        if any(key in figures.get(head, {}) for head in HEADS)
    ]


def _format(figure: dict | None, percent: bool) -> str:
    if not figure or figure.get("value") is None:
        return "\u2014"

    def one(number: float) -> str:
        return f"{number * 100:.1f} %" if percent else f"{number:.3f}"

    interval = figure.get("ci")
    return f"{one(figure['value'])} ({one(interval[0])} to {one(interval[1])})" if interval else one(figure["value"])


@dataclass(frozen=True)
class Curve:
    head: str
    points: str  # for <polyline points="...">
    dots: list[tuple[float, float, dict]]  # (x, y, bin) for each bin with films


def reliability_curves(report: dict) -> list[Curve]:
    curves = []
    for head in HEADS:
        bins = [b for b in (report.get("reliability") or {}).get(head, []) if b.get("count")]
        dots = [(*_point(b["confidence"], b["observed"]), b) for b in bins]
        curves.append(Curve(head, " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in dots), dots))
    return curves


def _point(confidence: float, observed: float) -> tuple[float, float]:
    return LEFT + confidence * SIZE, TOP + (1 - observed) * SIZE


def reliability_table(report: dict) -> list[dict]:
    """One row per bin and head: the diagram's numbers as a table."""
    rows = []
    for head in HEADS:
        for b in (report.get("reliability") or {}).get(head, []):
            if b.get("count"):
                rows.append({"head": head, **b})
    return rows
