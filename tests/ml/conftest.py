import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.constants import DEFAULT_DATA_DIR


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    if not DEFAULT_DATA_DIR.is_dir():
        pytest.skip(f"shared training images not found at {DEFAULT_DATA_DIR}")
    return DEFAULT_DATA_DIR


@pytest.fixture(scope="session")
def xray_path(shared_data_dir) -> Path:
    return shared_data_dir / "PNEUMONIA" / "person1000_bacteria_2931.jpeg"


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def grey_gradient() -> Image.Image:
    return Image.fromarray(np.tile(np.linspace(0, 255, 300), (240, 1)).astype(np.uint8), mode="L")
