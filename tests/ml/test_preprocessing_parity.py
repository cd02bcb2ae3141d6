"""Training and serving build the model's input from a file through one function, to the last bit."""

import numpy as np
import pytest
from PIL import Image

from ml.data import Example, load_model_inputs
from ml.predictor import Predictor
from tests.ml.conftest import encode
from tests.ml.dicom_files import dicom_bytes


class RecordingPredictor(Predictor):
    """The shipped predictor, keeping each tensor it hands to the model."""

    def run_model(self, batch):
        self.seen.append(batch[0].copy())
        return super().run_model(batch)


@pytest.fixture(scope="module")
def predictor():
    recording = RecordingPredictor.load()
    recording.seen = []
    return recording


@pytest.fixture(scope="module")
def files(shared_data_dir, tmp_path_factory):
    """Training JPEGs of both classes, plus the other formats the portal serves: a large 16-bit PNG
    (resized on the way in) and a DICOM."""
    folder = tmp_path_factory.mktemp("parity")
    normal = sorted((shared_data_dir / "NORMAL").iterdir())[:2]
    pneumonia = sorted((shared_data_dir / "PNEUMONIA").iterdir())[:2]
    grey = np.asarray(Image.open(pneumonia[0]).convert("L").resize((900, 700)), dtype=np.uint16)
    (folder / "large.png").write_bytes(encode(Image.fromarray(grey * 257), "PNG"))
    (folder / "film.dcm").write_bytes(dicom_bytes(grey * 16, bits_stored=12))
    return [*normal, *pneumonia, folder / "large.png", folder / "film.dcm"]


def test_the_training_pipeline_and_the_predictor_feed_the_model_identical_tensors(predictor, files):
    training = load_model_inputs([Example(path, 0, path.stem) for path in files])
    predictor.seen.clear()
    for path in files:
        assert not predictor.predict(path.read_bytes()).rejected, path
    served = np.stack(predictor.seen)
    assert training.shape == served.shape == (len(files), 224, 224, 1)
    assert training.dtype == served.dtype == np.float32
    np.testing.assert_array_equal(training, served)
