"""What the drift figures cost: `.venv/bin/python bench/drift.py [--readings N] [--repeats R]`.

Seeds N first readings (default 100,000) over 20 weeks, spread over five sites and the patients'
uploads, with one reading in ten reviewed, into the database the environment names (DATABASE_URL, a
scratch PostgreSQL database; otherwise a throw-away SQLite file), then times reviews.drift.by_site(),
the grouped queries behind the monitoring page's drift section (12 weeks shown) and /metrics' drift
families (4 weeks), each with the 8 weeks before them.
Prints JSON lines. Figures only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
WEEKS = 20
SITES = 5


def setup_django() -> None:
    os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="bench-drift-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def seed(readings: int, chooser: random.Random) -> None:
    from django.utils import timezone

    from accounts.models import User
    from hospitals.models import Site
    from reviews.models import Review, ReviewCase
    from scans.models import Prediction, Scan

    owner = User.objects.create(email=f"bench-{chooser.random()}@example.com")
    patient = owner.patients.create(name="Bench")
    sites = [None] + [Site.objects.create(name=f"Bench site {chooser.random()}") for _ in range(SITES)]
    radiologist = User.objects.create(email=f"bench-rad-{chooser.random()}@example.com", role="radiologist")
    now = timezone.now()
    for start in range(0, readings, 5000):
        batch = range(start, min(start + 5000, readings))
        placed = [(sites[n % len(sites)], now - timedelta(weeks=WEEKS) * chooser.random()) for n in batch]
        scans = Scan.objects.bulk_create(
            Scan(
                owner=None if site else owner, patient=None if site else patient, site=site, status="done",
                image="scans/x.png", original_filename="x.png", source_format="PNG", width=1, height=1,
                size_bytes=1, sha256="0", finished_at=when,
            )
            for site, when in placed
        )  # fmt: skip
        predictions = Prediction.objects.bulk_create(
            Prediction(
                scan=scan, model_version="bench", probability=(p := chooser.betavariate(1, 3)),
                label="pneumonia" if p > 0.5 else "normal", needs_review=p > 0.3, inference_ms=1, queue_ms=1,
                embedding_distance=chooser.gauss(8, 2), created_at=when,
            )
            for scan, (_, when) in zip(scans, placed, strict=True)
        )  # fmt: skip
        reviewed = [p for p in predictions if chooser.random() < 0.1]
        ReviewCase.objects.bulk_create(
            ReviewCase(
                scan_id=p.scan_id, site_id=p.scan.site_id, reason="pneumonia" if p.needs_review else "qc_sample",
                state="reviewed", priority=1 if p.needs_review else 0, prediction=p,
                sampling_probability=1.0 if p.needs_review else 0.05, waiting_since=p.created_at,
                due_at=p.created_at,
            )
            for p in reviewed
        )  # fmt: skip
        Review.objects.bulk_create(
            Review(scan_id=p.scan_id, radiologist=radiologist, prediction=p, finding=chooser.choice(FINDINGS))
            for p in reviewed
        )


FINDINGS = ["pneumonia", "no_pneumonia", "no_pneumonia", "inconclusive"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection

    from reviews import drift

    started = time.perf_counter()
    seed(args.readings, random.Random(7))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        json.dumps({"figure": "seeded", "readings": args.readings, "seconds": round(time.perf_counter() - started, 1)})
    )
    for name, weeks in (("page", drift.SHOWN_WEEKS), ("metrics", drift.RECENT_WEEKS)):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            sites = drift.by_site(weeks=weeks)
            times.append(time.perf_counter() - started)
        row = {
            "figure": f"drift.by_site(weeks={weeks}), the {name}'s figures",
            "database": connection.vendor,
            "readings": args.readings,
            "sites": len(sites),
            "weeks_shown": sum(len(site.weeks) for site in sites),
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "max_ms": round(max(times) * 1000, 1),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
