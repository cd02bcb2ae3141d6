"""How the drift rule behaves: `.venv/bin/python bench/drift_rule.py [--trials N]`.

Simulates a site's share flagged: eight earlier weeks and a ninth, each of n readings flagged at 30 %,
the ninth unchanged or shifted up, and judges the ninth with reviews.drift's rule. Prints, per week
size, the share of unchanged ninth weeks it calls out of range (false alarms) and the share of shifted
ones it catches. Figures only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
BASE_SHARE = 0.3


def ninth_week_out_of_range(drift, chooser: random.Random, readings: int, shift: float) -> bool:
    weeks = []
    for index in range(9):
        share = BASE_SHARE + (shift if index == 8 else 0.0)
        flagged = sum(chooser.random() < share for _ in range(readings))
        week = drift.Week(datetime(2026, 1, 5) + timedelta(weeks=index), readings=readings)
        week.flagged = drift.Figure(flagged / readings, drift._share_error(flagged, readings))
        weeks.append(week)
    drift._judge(weeks)
    return weeks[-1].flagged.out_of_range


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4000)
    args = parser.parse_args(argv)
    os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="bench-drift-rule-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from reviews import drift

    chooser = random.Random(1)
    for readings in (30, 100, 400):
        row = {"readings_a_week": readings, "base_share_flagged": BASE_SHARE, "trials": args.trials}
        for shift in (0.0, 0.15, 0.3):
            rings = sum(ninth_week_out_of_range(drift, chooser, readings, shift) for _ in range(args.trials))
            row["false_alarms" if shift == 0 else f"caught_shift_+{shift}"] = rings / args.trials
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
