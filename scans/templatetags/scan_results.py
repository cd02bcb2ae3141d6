"""Template helpers for showing results: the trend line of past readings."""

from django import template

from scans.clinical import percent_words
from scans.models import whole_percent

register = template.Library()

WIDTH, HEIGHT, MARGIN = 600, 160, 16
LEFT = MARGIN * 3  # room for the percentage labels
DATE_AXIS = 20  # room below the chart for the first and last dates


@register.inclusion_tag("scans/_trend.html")
def result_trend(readings):
    """An inline SVG line of the probabilities of finished scans, oldest on the left, placed by date.

    `readings` are (uploaded at, probability) pairs (ScanQuerySet.latest_probabilities). Drawn on the
    server so the page needs no chart library and reads the same without JavaScript.
    """
    readings = sorted(readings, key=lambda reading: reading[0])
    points = [_point(when, probability, readings) for when, probability in readings]
    probabilities = [probability for _, probability in readings]
    return {
        "points": points,
        "first": points[0] if points else None,
        "last": points[-1] if points else None,
        "left": LEFT,
        "label_x": LEFT - MARGIN / 2,
        "polyline": " ".join(f"{point['x']},{point['y']}" for point in points),
        "width": WIDTH,
        "height": HEIGHT + DATE_AXIS,
        "axis_y": HEIGHT + DATE_AXIS - 4,
        # In words, as a reading is shown everywhere: never a certain "0%" or "100%".
        "lowest": percent_words(min(probabilities)) if probabilities else None,
        "highest": percent_words(max(probabilities)) if probabilities else None,
        "gridlines": [{"percent": percent, "y": _y(percent)} for percent in (0, 50, 100)],
    }


def _point(when, probability: float, readings) -> dict:
    first, last = readings[0][0], readings[-1][0]
    span = (last - first).total_seconds()
    share = (when - first).total_seconds() / span if span else 0.5
    x = round(LEFT + share * (WIDTH - LEFT - MARGIN), 1)
    return {"x": x, "y": _y(whole_percent(probability)), "words": percent_words(probability), "when": when}


def _y(percent: int) -> float:
    return round(MARGIN + (100 - percent) / 100 * (HEIGHT - 2 * MARGIN), 1)


@register.filter
def shown_prediction(scan, user):
    """The reading this user may see (Scan.reading_for: the one rule)."""
    return scan.reading_for(user)
