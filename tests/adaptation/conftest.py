"""Real films of the training hospital, a few per class: what the reference-film tests import."""

from pathlib import Path

import pytest

from ml.constants import DEFAULT_DATA_DIR

TRAIN = Path(DEFAULT_DATA_DIR)


def real_films(label: str, count: int) -> list[Path]:
    return sorted((TRAIN / label).iterdir())[:count]


@pytest.fixture
def film_folder(tmp_path):
    """NORMAL/ and PNEUMONIA/ with two real films each, a document posing as a film and a stray folder."""
    for label in ("NORMAL", "PNEUMONIA"):
        (tmp_path / label).mkdir()
        for path in real_films(label, 2):
            (tmp_path / label / path.name).write_bytes(path.read_bytes())
    (tmp_path / "NORMAL" / "notes.jpeg").write_bytes(b"%PDF-1.4 not an X-ray")
    (tmp_path / "NORMAL" / "old").mkdir()
    (tmp_path / "NORMAL" / "old" / "x.jpeg").write_bytes(real_films("NORMAL", 3)[2].read_bytes())
    return tmp_path
