"""How well do our own splits predict the hidden test figures? Read model v1 on them.

Model v1 (`pneumonia-cnn-1+3f5eec8f5299`) was measured by the team on the hidden official test split.
Its training used the first fold of a 7-fold patient-grouped split (seed 1337), so the films of that
fold (v1's "validation", 745 images) were never trained on. This script reads v1, end to end through
`Predictor`, on the films of our locked report split and of the shift proxy (both halves) that lie in
that fold, so the proxy's figures can be set beside the hidden ones.

    git show a7dcffc:ml/artifacts/model.tflite > /tmp/v1/model.tflite   # likewise manifest.json, gate.npz
    .venv/bin/python scripts/proxy_check_v1.py /tmp/v1
"""

import json
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml import metrics  # noqa: E402
from ml.constants import ARTIFACTS_DIR, DEFAULT_DATA_DIR, SPLIT_NAME  # noqa: E402
from ml.data import list_examples, load_splits  # noqa: E402
from ml.predictor import Predictor  # noqa: E402


def v1_validation_fold(examples):
    splitter = StratifiedGroupKFold(n_splits=7, shuffle=True, random_state=1337)
    _, held = next(splitter.split(np.zeros(len(examples)), [e.label for e in examples], [e.patient for e in examples]))
    return {examples[i].path for i in held}


def main(model_dir: str) -> None:
    predictor = Predictor.load(Path(model_dir))
    unseen = v1_validation_fold(list_examples(DEFAULT_DATA_DIR))
    splits = load_splits(ARTIFACTS_DIR / SPLIT_NAME, DEFAULT_DATA_DIR)
    sets = {
        "report": splits["report"],
        "shift proxy": splits["proxy_selection"] + splits["proxy_report"],
    }
    for name, members in sets.items():
        films = [e for e in members if e.path in unseen]
        readings = [(e.label, predictor.predict(e.path)) for e in films]
        kept = [(label, r.probability) for label, r in readings if not r.rejected]
        labels, probabilities = (np.array(v) for v in zip(*kept, strict=True))
        s = metrics.summary(labels, probabilities, predictor.threshold, predictor.review_from)
        figures = {k: round(s[k], 3) for k in ("auc", "accuracy", "sensitivity", "specificity", "ece")}
        figures["review_share"] = round(s["flagged_for_review"]["share_of_images"], 3)
        figures["images"] = f"{len(kept)} ({int(labels.sum())} pneumonia / {int((labels == 0).sum())} normal)"
        print(name, json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1])
