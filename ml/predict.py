"""Read X-rays from the command line: `python -m ml.predict FILE... [--format csv|json] [--model DIR]`.

CSV output is exactly `path,status,reason,probability,label,needs_review`, one row per file; files that
cannot be read or are not chest X-rays get a `rejected` row with the reason, never a crash.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from ml.predictor import Predictor, Reading

CSV_HEADER = ("path", "status", "reason", "probability", "label", "needs_review")


def row(path: str, reading: Reading) -> dict:
    return {
        "path": path,
        "status": reading.status,
        "reason": reading.reason or "",
        "probability": "" if reading.probability is None else f"{reading.probability:.4f}",
        "label": reading.label or "",
        "needs_review": "true" if reading.needs_review else "false",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.add_argument("--model", type=Path, default=None, help="artefacts folder or manifest (default: shipped)")
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.model)
    rows = [row(path, predictor.predict(Path(path))) for path in args.files]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
