"""Image reading: always uint8 RGB out (16-bit scaled, grey expanded, alpha on white); bad files -> InputError."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segcorr.errors import InputError
from segcorr.io.image import check_image_array, encode_image, read_gray, read_image, write_image

FAST = settings(max_examples=40, deadline=None)


def _rng_image(shape, seed=0, dtype=np.uint8):
    hi = 256 if dtype == np.uint8 else 65536
    return np.random.default_rng(seed).integers(0, hi, shape).astype(dtype)


def test_rgb_png_round_trip_keeps_channel_order(tmp_path):
    img = _rng_image((7, 5, 3))
    img[0, 0] = (255, 0, 0)
    write_image(tmp_path / "a.png", img)
    back = read_image(tmp_path / "a.png")
    assert back.dtype == np.uint8 and np.array_equal(back, img)
    # On disk OpenCV order is BGR: a red pixel must be stored with B = 0.
    raw = cv2.imread(str(tmp_path / "a.png"), cv2.IMREAD_UNCHANGED)
    assert tuple(raw[0, 0]) == (0, 0, 255)


def test_grey_file_is_expanded_to_rgb_and_read_gray_keeps_it(tmp_path):
    g = _rng_image((6, 9))
    write_image(tmp_path / "g.png", g)
    rgb = read_image(tmp_path / "g.png")
    assert rgb.shape == (6, 9, 3) and all(np.array_equal(rgb[..., c], g) for c in range(3))
    assert np.array_equal(read_gray(tmp_path / "g.png"), g)


def test_16bit_is_scaled_to_8bit(tmp_path):
    g16 = np.array([[0, 257, 65535, 32896]], np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    assert read_gray(tmp_path / "g16.png").tolist() == [[0, 1, 255, 128]]
    c16 = np.zeros((1, 2, 3), np.uint16)
    c16[0, 0, 2] = 65535  # BGR on disk: red
    cv2.imwrite(str(tmp_path / "c16.png"), c16)
    assert read_image(tmp_path / "c16.png")[0, 0].tolist() == [255, 0, 0]


def test_alpha_is_composited_on_white(tmp_path):
    bgra = np.zeros((1, 3, 4), np.uint8)
    bgra[0, 0] = (0, 0, 255, 255)  # opaque red
    bgra[0, 1] = (0, 0, 255, 0)  # fully transparent red
    bgra[0, 2] = (0, 0, 0, 128)  # half-transparent black
    cv2.imwrite(str(tmp_path / "a.png"), bgra)
    rgb = read_image(tmp_path / "a.png")
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[0, 1].tolist() == [255, 255, 255]
    assert rgb[0, 2].tolist() == [127, 127, 127]


def test_bool_mask_written_as_0_255_and_jpeg_readable(tmp_path):
    m = np.zeros((4, 4), bool)
    m[1:3, 1:3] = True
    write_image(tmp_path / "m.png", m)
    assert set(np.unique(read_gray(tmp_path / "m.png"))) == {0, 255}
    write_image(tmp_path / "a.jpg", _rng_image((16, 16, 3)))
    assert read_image(tmp_path / "a.jpg").shape == (16, 16, 3)


def test_write_refuses_unknown_suffix_and_dtype(tmp_path):
    with pytest.raises(InputError, match="suffix"):
        write_image(tmp_path / "a.xyz", _rng_image((2, 2, 3)))
    with pytest.raises(InputError, match="uint8"):
        write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(InputError, match="shape"):
        write_image(tmp_path / "a.png", np.zeros((2, 2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_missing_empty_and_text_files_name_the_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "none.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "t.png").write_text("hello, not a picture")
    with pytest.raises(InputError) as e:
        read_gray(tmp_path / "t.png")
    assert e.value.path == str(tmp_path / "t.png")


@FAST
@given(st.binary(min_size=1, max_size=300))
def test_random_bytes_raise_only_input_error(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("img") / "x.png"
    path.write_bytes(blob)
    for reader in (read_image, read_gray):
        try:
            out = reader(path)
        except InputError:
            continue
        assert out.dtype == np.uint8  # some byte strings are legal tiny images (e.g. PNM)


@FAST
@given(st.sampled_from([".png", ".jpg", ".bmp", ".webp", ".tif"]), st.data())
def test_truncated_and_bit_flipped_images_raise_only_input_error(tmp_path_factory, suffix, data):
    good = encode_image(_rng_image((12, 10, 3), seed=1), suffix)
    cut = data.draw(st.integers(0, len(good) - 1))
    pos = data.draw(st.integers(0, len(good) - 1))
    flipped = bytearray(good)
    flipped[pos] ^= data.draw(st.integers(1, 255))
    d = tmp_path_factory.mktemp("img")
    for i, blob in enumerate((good[:cut], bytes(flipped))):
        p = d / f"{i}{suffix}"
        p.write_bytes(blob)
        try:
            out = read_image(p)
        except InputError:
            continue
        assert out.dtype == np.uint8 and out.ndim == 3


def test_array_check_without_convert_returns_the_array_itself():
    rgb, grey = _rng_image((5, 6, 3)), _rng_image((5, 6))
    assert check_image_array(rgb, "img0") is rgb
    assert check_image_array(grey, "img0") is grey
    with pytest.raises(InputError, match=r"^img1: expected an image \[H, W, 3\], found shape \(5, 6\)$"):
        check_image_array(grey, "img1", grey=False)
    with pytest.raises(InputError, match=r"^img1: expected an image \[H, W\] or \[H, W, 3\], found shape \(5, 6, 4\)"):
        check_image_array(np.zeros((5, 6, 4), np.uint8), "img1")
    with pytest.raises(InputError, match=r"^img0: expected uint8 pixels, found dtype uint16$"):
        check_image_array(np.zeros((5, 6, 3), np.uint16), "img0")


def test_array_conversion_of_grey_rgba_16_bit_and_bool():
    def conv(a):
        return check_image_array(np.asarray(a), convert=True)

    assert conv(np.array([[0x12FF, 0xFFFF]], np.uint16)).tolist() == [[[0x12] * 3, [255] * 3]]
    assert conv(np.array([[True, False]])).tolist() == [[[255] * 3, [0] * 3]]
    assert conv(np.array([[[7], [9]]], np.uint8)).tolist() == [[[7] * 3, [9] * 3]]
    # colour (0, 100, 255) at alpha 0 / 128 / 255: white, half way, the colour itself
    rgba = np.array([[[0, 100, 255, 0], [0, 100, 255, 128], [0, 100, 255, 255]]], np.uint8)
    assert conv(rgba).tolist() == [[[255, 255, 255], [127, 177, 255], [0, 100, 255]]]
    out = conv(_rng_image((4, 5, 3))[:, ::-1])
    assert out.dtype == np.uint8 and out.flags.c_contiguous


def test_array_conversion_errors_name_the_argument_and_the_limits():
    with pytest.raises(InputError, match=r"^frame: expected uint8, uint16 or bool pixels, found dtype float32$"):
        check_image_array(np.zeros((20, 20, 3), np.float32), "frame", convert=True)
    with pytest.raises(InputError, match=r"expected an image \[H, W\], \[H, W, 1\], \[H, W, 3\] or \[H, W, 4\]"):
        check_image_array(np.zeros((20, 20, 2), np.uint8), convert=True)
    with pytest.raises(InputError, match=r"^image: expected sides of 16\.\.64 px, found 8x20$"):
        check_image_array(np.zeros((20, 8, 3), np.uint8), convert=True, sides=(16, 64))
    with pytest.raises(InputError, match=r"sides of 16\.\.64 px, found 65x20"):
        check_image_array(np.zeros((20, 65), np.uint16), convert=True, sides=(16, 64))
    assert check_image_array(np.zeros((16, 64), np.uint8), convert=True, sides=(16, 64)).shape == (16, 64, 3)
