import json
from pathlib import Path

import numpy as np
import pytest

from ml.constants import ARTIFACTS_DIR, SPLIT_NAME
from ml.data import (
    SPLIT_NAMES,
    Example,
    appearance_features,
    grouped_folds,
    list_examples,
    load_splits,
    locked_splits,
    make_splits,
    patient_id,
    save_splits,
)

RECORDED_SPLITS = ARTIFACTS_DIR / SPLIT_NAME


@pytest.mark.parametrize(
    "path, patient",
    [
        ("PNEUMONIA/person123_bacteria_456.jpeg", "PNEUMONIA/person123"),
        ("PNEUMONIA/person123_virus_457.jpeg", "PNEUMONIA/person123"),
        ("NORMAL/IM-0115-0001.jpeg", "NORMAL/IM-0115"),
        ("NORMAL/NORMAL2-IM-0115-0002.jpeg", "NORMAL/NORMAL2-IM-0115"),
        ("NORMAL/something-else.png", "NORMAL/something-else"),
    ],
)
def test_patient_id_is_read_from_the_file_name(path, patient):
    assert patient_id(Path(path)) == patient


@pytest.fixture(scope="module")
def recorded(shared_data_dir):
    return load_splits(RECORDED_SPLITS, shared_data_dir)


def test_the_recorded_splits_cover_every_image_once_and_keep_each_patient_in_one(shared_data_dir, recorded):
    assert set(recorded) == set(SPLIT_NAMES)
    paths = [e.path for members in recorded.values() for e in members]
    assert len(paths) == len(set(paths)) == len(list_examples(shared_data_dir)) == 5216
    patients = {name: {e.patient for e in members} for name, members in recorded.items()}
    for name in SPLIT_NAMES:
        for other in SPLIT_NAMES:
            if name != other:
                assert not patients[name] & patients[other], (name, other)


@pytest.mark.slow  # lists and splits the whole training set again: about 10 s
def test_the_recorded_splits_are_what_the_seed_makes(shared_data_dir, recorded):
    """Anyone can redraw the locked split from the data and the seed and get the same files."""
    made = make_splits(list_examples(shared_data_dir))
    assert {k: [e.path for e in v] for k, v in made.items()} == {k: [e.path for e in v] for k, v in recorded.items()}


def test_every_evaluation_split_has_enough_of_both_classes(recorded):
    for name in ("selection", "report", "proxy_selection", "proxy_report"):
        labels = [e.label for e in recorded[name]]
        assert sum(labels) >= 100 and len(labels) - sum(labels) >= 100, name
    assert len(recorded["train"]) > 0.6 * 5216


def test_the_shift_proxy_looks_less_typical_than_the_report_split(recorded):
    """The proxy is made of the clusters farthest from the average film: its films sit farther out."""
    from ml.preprocessing import decode, squash

    def spread(examples):
        rng = np.random.default_rng(0)
        sample = [examples[i] for i in rng.choice(len(examples), 120, replace=False)]
        return np.stack([appearance_features(squash(decode(e.path).grey)) for e in sample])

    report, proxy, train = spread(recorded["report"]), spread(recorded["proxy_report"]), spread(recorded["train"])
    centre, scale = train.mean(0), train.std(0) + 1e-9
    distance = lambda rows: np.linalg.norm((rows - centre) / scale, axis=1).mean()  # noqa: E731
    assert distance(proxy) > 1.2 * distance(report)


def test_a_record_of_other_files_is_refused_not_silently_redrawn(shared_data_dir, tmp_path):
    data = tmp_path / "data"
    for class_name in ("NORMAL", "PNEUMONIA"):
        (data / class_name).mkdir(parents=True)
    (data / "NORMAL" / "IM-0001-0001.jpeg").write_bytes(b"")
    with pytest.raises(ValueError, match="other files"):
        locked_splits(data, RECORDED_SPLITS)


def test_a_saved_record_names_each_file_by_class_and_name(tmp_path):
    examples = [Example(Path(f"P/person{i}_virus_{i}.jpeg"), 1, f"P/person{i}") for i in range(4)]
    splits = {name: examples[:1] if name == "train" else [] for name in SPLIT_NAMES}
    save_splits(splits, tmp_path / "split.json")
    record = json.loads((tmp_path / "split.json").read_text())
    assert record["splits"]["train"] == ["PNEUMONIA/person0_virus_0.jpeg"]


def test_missing_class_folder_is_reported(tmp_path):
    (tmp_path / "NORMAL").mkdir()
    with pytest.raises(FileNotFoundError, match="PNEUMONIA"):
        list_examples(tmp_path)


def test_one_patients_images_never_straddle_the_folds():
    examples = [Example(Path(f"P/person{i // 3}_virus_{i}.jpeg"), 1, f"P/person{i // 3}") for i in range(60)]
    examples += [Example(Path(f"N/IM-{i // 2:04d}-{i}.jpeg"), 0, f"N/IM-{i // 2:04d}") for i in range(40)]
    folds = grouped_folds(examples, 4)
    owners = {}
    for index, fold in enumerate(folds):
        for example in fold:
            assert owners.setdefault(example.patient, index) == index
    assert sum(len(f) for f in folds) == 100
