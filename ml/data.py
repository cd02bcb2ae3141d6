"""The Kermany training images: listing, patient ids, the locked patient-grouped splits and cached tensors.

Five disjoint sets of patients, fixed by SEED and recorded in artifacts/split.json:

- shift proxy: the most atypical acquisition clusters of each class (films grouped by exposure,
  contrast, borders, sharpness) held out of training, as a stand-in for films from another batch or
  machine; halved by patient into `proxy_selection` (choices may use it) and `proxy_report`
  (reported only);
- `report`: a locked patient-grouped split that no choice ever touches, the figures we publish;
- `selection`: the split that calibration, thresholds and every model choice are made on;
- `train`: everything else.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from ml.constants import CLASS_NAMES, PROXY_CLUSTERS, PROXY_FRACTION, SEED, SPLIT_FOLDS
from ml.file_names import patient_id
from ml.preprocessing import decode, preprocess, squash

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".dcm"}
SPLIT_NAMES = ("train", "selection", "report", "proxy_selection", "proxy_report")


@dataclass(frozen=True)
class Example:
    path: Path
    label: int  # index into CLASS_NAMES
    patient: str


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


def grouped_folds(examples: list[Example], folds: int, seed: int = SEED) -> list[list[Example]]:
    """`folds` class-stratified parts of examples with every patient's images in one part only."""
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    labels = [example.label for example in examples]
    groups = [example.patient for example in examples]
    return [[examples[i] for i in part] for _, part in splitter.split(np.zeros(len(examples)), labels, groups)]


def appearance_features(grey: np.ndarray) -> np.ndarray:
    """How a film was acquired rather than what it shows: exposure, contrast, borders and sharpness.

    Computed on the raw (un-equalised) squashed grey image, because equalisation removes exactly the
    exposure and contrast differences that tell one acquisition batch from another.
    """
    size = grey.shape[0]
    rim = max(1, size // 10)
    border = np.concatenate([grey[:rim].ravel(), grey[-rim:].ravel(), grey[:, :rim].ravel(), grey[:, -rim:].ravel()])
    sharpness = np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean()
    return np.array(
        [
            *np.quantile(grey, [0.02, 0.25, 0.5, 0.75, 0.98]),
            grey.std(),
            border.mean(),
            border.std(),
            (grey < 0.03).mean(),
            (grey > 0.97).mean(),
            sharpness,
        ]
    )


def appearance_by_patient(examples: list[Example]) -> dict[str, np.ndarray]:
    """Each patient's mean appearance features over the patient's films."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        features = list(pool.map(lambda e: appearance_features(squash(decode(e.path).grey)), examples))
    rows: dict[str, list[np.ndarray]] = {}
    for example, row in zip(examples, features, strict=True):
        rows.setdefault(example.patient, []).append(row)
    return {patient: np.mean(values, axis=0) for patient, values in rows.items()}


def atypical_patients(
    examples: list[Example], appearance: dict[str, np.ndarray], seed: int = SEED, fraction: float = PROXY_FRACTION
) -> set[str]:
    """Patients in the most atypical acquisition clusters of one class, about `fraction` of its images.

    Clusters are made within a class because in this data set the two classes were largely acquired
    differently: clusters of all films would be almost pure normal or pure pneumonia, and a proxy
    without both classes measures no ranking. The clusters farthest from the class's average film are
    held out first; one that would take the share past twice `fraction` is passed over.
    """
    from sklearn.cluster import KMeans

    patients = sorted({e.patient for e in examples})
    features = np.stack([appearance[p] for p in patients])
    standardised = (features - features.mean(0)) / (features.std(0) + 1e-9)
    clusters = KMeans(n_clusters=PROXY_CLUSTERS, n_init=10, random_state=seed).fit(standardised)
    images = {p: 0 for p in patients}
    for example in examples:
        images[example.patient] += 1
    held: set[str] = set()
    for cluster in np.argsort(np.linalg.norm(clusters.cluster_centers_, axis=1))[::-1]:
        members = {p for p, c in zip(patients, clusters.labels_, strict=True) if c == cluster}
        if sum(images[p] for p in held | members) > 2 * fraction * len(examples):
            continue
        held |= members
        if sum(images[p] for p in held) >= fraction * len(examples):
            break
    return held


def make_splits(examples: list[Example], seed: int = SEED) -> dict[str, list[Example]]:
    """The five disjoint splits described in the module docstring, the same for the same seed."""
    appearance = appearance_by_patient(examples)
    held: set[str] = set()
    for label in range(len(CLASS_NAMES)):
        held |= atypical_patients([e for e in examples if e.label == label], appearance, seed)
    proxy = [e for e in examples if e.patient in held]
    rest = [e for e in examples if e.patient not in held]
    proxy_selection, proxy_report = grouped_folds(proxy, 2, seed)
    parts = grouped_folds(rest, SPLIT_FOLDS, seed)
    splits = {
        "train": [e for part in parts[2:] for e in part],
        "selection": parts[1],
        "report": parts[0],
        "proxy_selection": proxy_selection,
        "proxy_report": proxy_report,
    }
    return {name: sorted(members, key=lambda e: (e.label, e.path.name)) for name, members in splits.items()}


def save_splits(splits: dict[str, list[Example]], path: Path) -> None:
    record = {"seed": SEED}
    record["splits"] = {
        name: [f"{CLASS_NAMES[e.label]}/{e.path.name}" for e in members] for name, members in splits.items()
    }
    Path(path).write_text(json.dumps(record, indent=1) + "\n")


def load_splits(path: Path, data_dir: Path) -> dict[str, list[Example]]:
    """The recorded splits, resolved against data_dir (so every tool reads the same lists)."""
    record = json.loads(Path(path).read_text())
    return {
        name: [
            Example(Path(data_dir) / relative, CLASS_NAMES.index(relative.split("/")[0]), patient_id(Path(relative)))
            for relative in members
        ]
        for name, members in record["splits"].items()
    }


def locked_splits(data_dir: Path, path: Path) -> dict[str, list[Example]]:
    """The splits recorded at `path`, made and recorded there on first use.

    A record made for other files is refused rather than silently remade: the report split only
    stays locked if nothing can quietly redraw it.
    """
    examples = list_examples(data_dir)
    if not Path(path).exists():
        splits = make_splits(examples)
        save_splits(splits, path)
        return splits
    splits = load_splits(path, data_dir)
    recorded = sorted(str(e.path) for members in splits.values() for e in members)
    if recorded != sorted(str(e.path) for e in examples):
        raise ValueError(f"{path} records the splits of other files than {data_dir}; pass another split file")
    return splits


def smoke_subset(splits: dict[str, list[Example]], per_class: int) -> dict[str, list[Example]]:
    """The first `per_class` films of each class of the training split, and half as many (at least 4)
    of every other split: the same code path as a full run, in minutes (--limit)."""

    def first(examples, count):
        return [e for label in (0, 1) for e in [x for x in examples if x.label == label][:count]]

    return {
        name: first(members, per_class if name == "train" else max(4, per_class // 2))
        for name, members in splits.items()
    }


def load_model_inputs(examples: list[Example], cache_dir: Path | None = None) -> np.ndarray:
    """Model input tensors (N, S, S, 1) through `preprocess`, the serving path, cached by file list."""
    cache_path = None
    if cache_dir is not None:
        key = hashlib.sha256(json.dumps([str(e.path) for e in examples]).encode()).hexdigest()[:16]
        cache_path = Path(cache_dir) / f"inputs-{key}.npy"
        if cache_path.exists():
            return np.load(cache_path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        stacked = np.stack(list(pool.map(lambda e: preprocess(e.path), examples)))
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache_path, stacked)
    return stacked


def load_squashed(examples: list[Example]) -> np.ndarray:
    """Decoded grey images squashed to the input size, un-equalised: what the gate's pixel rules measure."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return np.stack(list(pool.map(lambda e: squash(decode(e.path).grey), examples)))


def describe(splits: dict[str, list[Example]]) -> dict:
    def counts(examples):
        return {
            "images": len(examples),
            "patients": len({e.patient for e in examples}),
            **{name.lower(): sum(e.label == i for e in examples) for i, name in enumerate(CLASS_NAMES)},
        }

    return {"seed": SEED, **{name: counts(members) for name, members in splits.items()}}
