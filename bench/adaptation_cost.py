"""The cost of site adaptation: `python bench/adaptation_cost.py [--films 300 3000]`.

Imports real training films (half normal, half pneumonia, up to what the set holds) into a fresh
SQLite database through adaptation.references.import_folder, the command's path, and prints the films
per second; then fits a head on each set with adaptation.fitting.adapt_site and prints the seconds.
Training films are what the shipped head was fitted on, so the reports' figures mean nothing here: only
the timings are the point. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def film_folder(root: Path, count: int, data_dir: Path) -> Path:
    """Links to `count` films, the classes as even as the set allows (it has 1,341 normal films)."""
    normal = sorted((data_dir / "NORMAL").iterdir())[: count // 2]
    pneumonia = sorted((data_dir / "PNEUMONIA").iterdir())[: count - len(normal)]
    for label, paths in (("NORMAL", normal), ("PNEUMONIA", pneumonia)):
        (root / label).mkdir(parents=True)
        for path in paths:
            (root / label / path.name).symlink_to(path)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, nargs="+", default=[300, 3000])
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="adaptation-bench-"))
    os.environ.update(PORTAL_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from adaptation import fitting, network, references
    from ml.constants import DEFAULT_DATA_DIR

    network.serving_predictor()  # loading the model is not the import's cost
    for count in args.films:
        folder = film_folder(var / f"films-{count}", count, Path(DEFAULT_DATA_DIR))
        started = time.perf_counter()
        result = references.import_folder(folder)
        imported = sum(c["imported"] for c in result.counts.values())
        import_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report, head = fitting.adapt_site(None)
        adapt_seconds = time.perf_counter() - started
        figures = {
            "films": count,
            "newly_imported": imported,
            "import_films_per_second": round(imported / import_seconds, 1) if imported else None,
            "cases": report.cases,
            "adapt_seconds": round(adapt_seconds, 2),
            "method": report.head.method if report.head else None,
        }
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
