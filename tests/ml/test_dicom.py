import numpy as np
import pytest
from PIL import Image

from ml.errors import UnreadableImage
from ml.preprocessing import decode, preprocess
from tests.ml.dicom_files import dicom_bytes

TOLERANCE = 0.01


@pytest.fixture(scope="module")
def grey(xray_path) -> np.ndarray:
    return np.asarray(Image.open(xray_path).convert("L"), dtype=np.uint16)


@pytest.fixture(scope="module")
def reference(xray_path):
    return preprocess(xray_path)


@pytest.mark.parametrize(
    "name, make",
    [
        ("8-bit", lambda g: dicom_bytes(g, bits_stored=8)),
        ("12-bit", lambda g: dicom_bytes(g * 16, bits_stored=12)),
        ("16-bit", lambda g: dicom_bytes(g * 257, bits_stored=16)),
        ("MONOCHROME1", lambda g: dicom_bytes((255 - g) * 16, "MONOCHROME1", bits_stored=12)),
        ("rescaled", lambda g: dicom_bytes(g * 16, bits_stored=12, RescaleSlope=2, RescaleIntercept=-1024)),
        ("full window", lambda g: dicom_bytes(g * 16, bits_stored=12, WindowCenter=2048, WindowWidth=4096)),
    ],
)
def test_dicom_pixels_reach_the_model_like_the_same_image_as_jpeg(grey, reference, name, make):
    assert np.abs(preprocess(make(grey)) - reference).mean() < TOLERANCE


def test_a_narrow_window_is_applied_before_the_model_sees_the_pixels(grey, reference):
    windowed = preprocess(dicom_bytes(grey * 16, bits_stored=12, WindowCenter=1024, WindowWidth=512))
    assert np.abs(windowed - reference).mean() > 0.05


def test_dicom_is_recognised_by_content_whatever_its_name(grey, tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(dicom_bytes(grey, bits_stored=8))
    assert decode(path).source_format == "DICOM"


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"Modality": "CT"}, "CT study, not a chest X-ray"),
        ({"Modality": "MR"}, "MR study"),
        ({"BodyPartExamined": "HAND"}, "shows the hand"),
        ({"NumberOfFrames": 3}, "several frames"),
        ({"ViewPosition": "LL"}, "lateral"),
        ({"ViewPosition": "RL"}, "lateral"),
    ],
)
def test_dicom_that_is_not_a_single_chest_radiograph_is_refused(grey, attributes, message):
    with pytest.raises(UnreadableImage, match=message):
        decode(dicom_bytes(grey, bits_stored=8, **attributes))


def test_damaged_dicom_is_refused(grey):
    data = dicom_bytes(grey, bits_stored=8)
    with pytest.raises(UnreadableImage, match="damaged|incomplete"):
        decode(data[: len(data) // 2])


def test_a_preamble_with_an_executable_header_does_not_change_the_reading(grey, reference):
    data = bytearray(dicom_bytes(grey, bits_stored=8))
    data[:4] = b"MZ\x90\x00"  # a Windows executable's signature in the 128-byte preamble
    assert np.abs(preprocess(bytes(data)) - reference).mean() < TOLERANCE
