"""Real films of the training hospital, a few per class: what the reference-film tests import."""

from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="session")
def real_readings():
    """(label, logit, embedding) of four real films per class, read once by the serving network."""
    from adaptation.network import serving_predictor

    predictor = serving_predictor()
    readings = []
    for label in ("NORMAL", "PNEUMONIA"):
        for path in real_films(label, 4):
            reading = predictor.predict(path.read_bytes())
            readings.append((label.lower(), reading.logit, reading.embedding))
    return readings


def build_cases(real_readings, per_class: dict, *, logit_shift=0.0, logit_noise=1.0, labels=None, site=None, seed=0):
    """Reference cases made from the real films' logits and embeddings plus Gaussian noise: `per_class`
    cases of each class, two per made-up patient. `labels(logits, rng)` may draw the labels instead of
    taking the source film's class."""
    from tests.factories import ReferenceCaseFactory

    rng = np.random.default_rng(seed)
    cases = []
    for label, count in per_class.items():
        sources = [r for r in real_readings if r[0] == label]
        for n in range(count):
            _, logit, embedding = sources[n % len(sources)]
            noisy = embedding + rng.normal(0, 0.05, embedding.shape).astype(np.float32)
            cases.append((label, logit + logit_shift + rng.normal(0, logit_noise), noisy))
    if labels is not None:
        drawn = labels(np.array([case[1] for case in cases]), rng)
        cases = [(new, logit, embedding) for new, (_, logit, embedding) in zip(drawn, cases, strict=True)]
    return [
        ReferenceCaseFactory(
            site=site, label=label, logit=float(logit), embedding=embedding.tobytes(), group_key=f"patient-{n // 2}"
        )
        for n, (label, logit, embedding) in enumerate(cases)
    ]
