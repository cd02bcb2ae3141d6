import io
import zlib

import numpy as np
import pytest
from PIL import Image

from ml.constants import IMAGE_SIZE
from ml.errors import UnreadableImage
from ml.preprocessing import decode, encode_png, equalise, preprocess, squash
from tests.ml.conftest import encode

TOLERANCE = 0.02  # mean absolute difference on a [0, 1] scale


@pytest.fixture(scope="module")
def xray(xray_path) -> Image.Image:
    return Image.open(xray_path).convert("L")


@pytest.fixture(scope="module")
def reference(xray) -> np.ndarray:
    return preprocess(encode(xray, "PNG"))


def variants(xray: Image.Image) -> dict[str, bytes]:
    rgb = xray.convert("RGB")
    sixteen_bit = Image.fromarray(np.asarray(xray, dtype=np.uint16) * 257)
    rotated = xray.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes the rotation above
    return {
        "jpeg": encode(xray, "JPEG", quality=95),
        "rgb_jpeg": encode(rgb, "JPEG", quality=95),
        "rgb_png": encode(rgb, "PNG"),
        "rgba_png": encode(rgb.convert("RGBA"), "PNG"),
        "palette_png": encode(xray.convert("P"), "PNG"),
        "grey_alpha_png": encode(xray.convert("LA"), "PNG"),
        "16_bit_png": encode(sixteen_bit, "PNG"),
        "exif_rotated_jpeg": encode(rotated, "JPEG", quality=95, exif=exif),
        "larger_png": encode(xray.resize((1000, 800)), "PNG"),
    }


@pytest.mark.parametrize("name", list(variants(Image.new("L", (64, 64))).keys()))
def test_the_same_xray_in_every_format_gives_the_same_tensor(xray, reference, name):
    tensor = preprocess(variants(xray)[name])
    assert tensor.shape == (IMAGE_SIZE, IMAGE_SIZE, 1)
    assert tensor.dtype == np.float32
    assert np.abs(tensor - reference).mean() < TOLERANCE


def test_twelve_bit_values_in_a_sixteen_bit_png_use_the_whole_range(xray, reference):
    twelve_bit = Image.fromarray(np.asarray(xray, dtype=np.uint16) * 16)
    assert np.abs(preprocess(encode(twelve_bit, "PNG")) - reference).mean() < TOLERANCE


def test_model_input_is_equalised_to_the_unit_range(reference):
    assert reference.min() == 0.0
    assert reference.max() == pytest.approx(1.0)
    assert 0.4 < reference.mean() < 0.6


def test_images_are_squashed_not_cropped():
    left_half_white = np.zeros((100, 400), dtype=np.float32)
    left_half_white[:, :200] = 1.0
    squashed = squash(left_half_white)
    assert squashed.shape == (IMAGE_SIZE, IMAGE_SIZE)
    assert squashed[:, : IMAGE_SIZE // 2 - 2].min() > 0.99
    assert squashed[:, IMAGE_SIZE // 2 + 2 :].max() < 0.01


def test_equalising_a_constant_image_gives_zeros():
    assert not equalise(np.full((50, 50), 0.7)).any()


def test_colour_is_measured_and_kept_only_for_colourful_images(xray, grey_gradient):
    assert decode(encode(xray.convert("RGB"), "PNG")).rgb is None
    colourful = Image.merge(
        "RGB", [grey_gradient, grey_gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey_gradient]
    )
    decoded = decode(encode(colourful, "PNG"))
    assert decoded.colourfulness > 0.3
    assert decoded.rgb.shape == (240, 300, 3)


def test_clean_png_has_the_same_pixels_and_no_trailing_payload(xray):
    upload = encode(xray, "JPEG", quality=90) + b"<script>alert(1)</script>"
    decoded = decode(upload)
    clean = encode_png(decoded)
    assert b"<script>" not in clean
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(clean))), np.rint(decoded.grey * 255).astype(np.uint8))


def test_sixteen_bit_sources_stay_sixteen_bit_when_re_encoded(xray):
    sixteen_bit = Image.fromarray(np.asarray(xray, dtype=np.uint16) * 257)
    clean = Image.open(io.BytesIO(encode_png(decode(encode(sixteen_bit, "PNG")))))
    assert clean.mode.startswith("I;16")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"definitely not an image" * 10, "not a JPEG, PNG or DICOM"),
        (b"<html><body>hello</body></html>", "not a JPEG, PNG or DICOM"),
        (b"GIF89a" + b"\0" * 100, "not a JPEG, PNG or DICOM"),
    ],
)
def test_non_images_are_refused_with_a_plain_reason(data, message):
    with pytest.raises(UnreadableImage, match=message):
        decode(data)


def test_truncated_jpeg_is_refused(xray):
    data = encode(xray, "JPEG", quality=95)
    with pytest.raises(UnreadableImage, match="damaged or incomplete"):
        decode(data[: len(data) // 2])


def test_truncated_png_is_refused(xray):
    data = encode(xray, "PNG")
    with pytest.raises(UnreadableImage, match="damaged|incomplete"):
        decode(data[: len(data) // 3])


def test_decompression_bomb_is_refused_before_decoding():
    png = encode(Image.new("L", (64, 64)), "PNG")
    # Rewrite the IHDR chunk to declare 100000 x 100000 pixels, with a valid CRC: a tiny file, a huge image.
    ihdr = b"IHDR" + (100_000).to_bytes(4, "big") * 2 + png[24:29]
    bomb = png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]
    with pytest.raises(UnreadableImage, match="too large"):
        decode(bomb)


def test_animated_images_are_refused(grey_gradient):
    frames = [grey_gradient, grey_gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(UnreadableImage, match="several frames"):
        decode(buffer.getvalue())


def test_thumbnails_are_refused():
    with pytest.raises(UnreadableImage, match="too small"):
        decode(encode(Image.new("L", (16, 16)), "PNG"))


def test_a_missing_path_is_an_unreadable_image(tmp_path):
    with pytest.raises(UnreadableImage, match="could not be read"):
        decode(tmp_path / "missing.png")
