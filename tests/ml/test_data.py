from pathlib import Path

import pytest

from ml.data import Example, list_examples, patient_id, split_by_patient


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


def test_split_keeps_every_patient_on_one_side_and_the_class_balance(shared_data_dir):
    examples = list_examples(shared_data_dir)
    train, validation = split_by_patient(examples)
    assert len(train) + len(validation) == len(examples) == 5216
    assert not {e.patient for e in train} & {e.patient for e in validation}
    assert 0.12 < len(validation) / len(examples) < 0.17
    share = lambda subset: sum(e.label for e in subset) / len(subset)  # noqa: E731
    assert abs(share(train) - share(validation)) < 0.03


def test_split_is_the_same_every_time(shared_data_dir):
    examples = list_examples(shared_data_dir)
    assert split_by_patient(examples)[1] == split_by_patient(examples)[1]


def test_missing_class_folder_is_reported(tmp_path):
    (tmp_path / "NORMAL").mkdir()
    with pytest.raises(FileNotFoundError, match="PNEUMONIA"):
        list_examples(tmp_path)


def test_one_patients_images_never_straddle_the_split():
    examples = [Example(Path(f"P/person{i // 3}_virus_{i}.jpeg"), 1, f"P/person{i // 3}") for i in range(60)]
    examples += [Example(Path(f"N/IM-{i // 2:04d}-{i}.jpeg"), 0, f"N/IM-{i // 2:04d}") for i in range(40)]
    train, validation = split_by_patient(examples)
    assert not {e.patient for e in train} & {e.patient for e in validation}
