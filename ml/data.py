"""The Kermany training images: listing, patient ids, a patient-grouped split and cached arrays."""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from ml.constants import CLASS_NAMES, SEED, VALIDATION_FRACTION
from ml.preprocessing import decode, squash

_PATIENT_PATTERNS = (
    re.compile(r"^(?P<patient>person\d+)_(bacteria|virus)_\d+"),
    re.compile(r"^(?P<patient>(NORMAL2-)?IM-\d+)-\d+"),
)
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".dcm"}


@dataclass(frozen=True)
class Example:
    path: Path
    label: int  # index into CLASS_NAMES
    patient: str


def patient_id(path: Path) -> str:
    """The patient a file belongs to, read from the Kermany file-name scheme (or the file itself)."""
    for pattern in _PATIENT_PATTERNS:
        match = pattern.match(path.name)
        if match:
            return f"{path.parent.name}/{match['patient']}"
    return f"{path.parent.name}/{path.stem}"


def list_examples(data_dir: Path) -> list[Example]:
    """Every image under data_dir/NORMAL and data_dir/PNEUMONIA, in a stable order."""
    examples = []
    for label, class_name in enumerate(CLASS_NAMES):
        class_dir = Path(data_dir) / class_name
        if not class_dir.is_dir():
            raise FileNotFoundError(f"{class_dir} is missing: expected {', '.join(CLASS_NAMES)} folders")
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                examples.append(Example(path=path, label=label, patient=patient_id(path)))
    return examples


def split_by_patient(
    examples: list[Example], validation_fraction: float = VALIDATION_FRACTION, seed: int = SEED
) -> tuple[list[Example], list[Example]]:
    """Train/validation split, stratified by class, with every patient's images on one side only."""
    n_splits = max(2, round(1 / validation_fraction))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    labels = [example.label for example in examples]
    groups = [example.patient for example in examples]
    train_index, validation_index = next(splitter.split(np.zeros(len(examples)), labels, groups))
    return [examples[i] for i in train_index], [examples[i] for i in validation_index]


def load_squashed(examples: list[Example], cache_dir: Path | None = None) -> np.ndarray:
    """Decoded, squashed grey images (N, IMAGE_SIZE, IMAGE_SIZE) as uint8, cached on disk by file list."""
    cache_path = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps([str(e.path) for e in examples]).encode()).hexdigest()[:16]
        cache_path = Path(cache_dir) / f"squashed-{key}.npy"
        if cache_path.exists():
            return np.load(cache_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        images = list(pool.map(lambda e: _squashed_uint8(e.path), examples))
    stacked = np.stack(images)
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_path, stacked)
    return stacked


def _squashed_uint8(path: Path) -> np.ndarray:
    return np.rint(squash(decode(path).grey) * 255).astype(np.uint8)


def describe_split(train: list[Example], validation: list[Example]) -> dict:
    def counts(examples):
        return {
            "images": len(examples),
            "patients": len({e.patient for e in examples}),
            **{name.lower(): sum(e.label == i for e in examples) for i, name in enumerate(CLASS_NAMES)},
        }

    return {"train": counts(train), "validation": counts(validation), "seed": SEED}
