"""Read and write ordinary images (PNG, JPEG, BMP, TIFF, WebP ...) through OpenCV.

Readers always return 8-bit RGB (or 8-bit grey for `read_gray`), whatever the file holds:
- 16-bit samples are scaled to 8 bits (``round(x / 257)``, so 65535 -> 255);
- grey files are repeated into three channels by `read_image`;
- an alpha channel is composited on WHITE (anime cels and manga pages are drawn on white paper, so a
  transparent background should look like paper, not like black ink).

`check_image_array` is the one check of image ARRAYS that callers pass to the API (flow frames, segmenter
images): it names the argument in its errors and, when asked, converts grey, RGBA, 16-bit and bool the same
way, except that 16-bit arrays keep their high byte (the segment predictor's rule from the start).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from segcorr.errors import InputError
from segcorr.io.atomic import atomic_write_bytes

_WRITABLE = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def _a(what: str) -> str:
    return f"{'an' if what[:1].lower() in 'aeiou' else 'a'} {what}"


def read_bytes(path: str | os.PathLike, what: str) -> bytes:
    """Whole file as bytes; a missing, unreadable or empty file is an InputError naming it."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found", p)
    if not p.is_file():
        raise InputError(f"expected {_a(what)} file, found a directory or special file", p)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {what} ({e.strerror or e})", p) from None
    if not data:
        raise InputError(f"expected {_a(what)}, found an empty file", p)
    return data


def decode_unchanged(data: bytes, path: str | os.PathLike, what: str = "image") -> np.ndarray:
    """Decode encoded image bytes as stored (bit depth and channels kept; colour order BGR[A])."""
    import cv2

    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as e:
        detail = (str(e).strip().splitlines() or ["unknown error"])[-1]
        raise InputError(f"expected {_a(what)} file, decoder failed ({detail})", path) from None
    if img is None or img.size == 0:
        raise InputError(f"expected {_a(what)} file (PNG, JPEG, ...), found data no decoder understands", path)
    return img


def _to_uint8(img: np.ndarray, path: str | os.PathLike) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        # Exact rounding of x * 255 / 65535 in integers.
        return ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    raise InputError(f"expected 8- or 16-bit integer samples, found {img.dtype}", path)


def _bgr_any_to_rgb(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W] / [H, W, 1|2|3|4] as decoded by OpenCV -> uint8 [H, W, 3] RGB, alpha on white."""
    if img.ndim == 2:
        return np.repeat(img[:, :, None], 3, axis=2)
    c = img.shape[2]
    if c == 1:
        return np.repeat(img, 3, axis=2)
    if c == 2:  # grey + alpha
        color, alpha = np.repeat(img[:, :, :1], 3, axis=2), img[:, :, 1:2]
    elif c == 3:
        return np.ascontiguousarray(img[:, :, ::-1])
    else:
        color, alpha = img[:, :, 2::-1], img[:, :, 3:4]
    return _on_white(color, alpha)


def _on_white(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 colour [H, W, 3] over white through uint8 alpha [H, W, 1] -> uint8 [H, W, 3]."""
    a = alpha.astype(np.float32) / 255.0
    out = color.astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _either(items: list[str]) -> str:
    """["a", "b", "c"] -> "a, b or c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def check_image_array(
    image: object,
    what: str = "image",
    *,
    convert: bool = False,
    grey: bool = True,
    sides: tuple[int, int] | None = None,
) -> np.ndarray:
    """Check an image array a caller passed in (InputError naming `what` otherwise) and, with `convert`,
    bring it to uint8 [H, W, 3] RGB.

    convert=False: uint8 [H, W, 3], or [H, W] when `grey`; returned as given (grey stays [H, W]).
    convert=True: uint8, uint16 or bool; [H, W, 3], [H, W, 4] (alpha composited on white) or, when `grey`,
    [H, W] / [H, W, 1] (repeated into three channels). 16-bit keeps the high byte (``x >> 8``), bool is 0/255.
    Returns a C-contiguous uint8 [H, W, 3].
    sides: (smallest, largest) allowed side in pixels; None: any size.
    """
    img = np.asarray(image)
    dtypes = (np.uint8, np.uint16, np.bool_) if convert else (np.uint8,)
    if not any(img.dtype == d for d in dtypes):
        allowed = _either([np.dtype(d).name for d in dtypes])
        raise InputError(f"{what}: expected {allowed} pixels, found dtype {img.dtype}")
    channels = ((1,) if convert and grey else ()) + ((3, 4) if convert else (3,))
    if not ((img.ndim == 2 and grey) or (img.ndim == 3 and img.shape[2] in channels)):
        want = _either((["[H, W]"] if grey else []) + [f"[H, W, {c}]" for c in channels])
        raise InputError(f"{what}: expected an image {want}, found shape {tuple(img.shape)}")
    if sides is not None:
        h, w = img.shape[:2]
        if min(h, w) < sides[0] or max(h, w) > sides[1]:
            raise InputError(f"{what}: expected sides of {sides[0]}..{sides[1]} px, found {w}x{h}")
    if not convert:
        return img
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = _on_white(img[:, :, :3], img[:, :, 3:])
    return np.ascontiguousarray(img)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file. Returns uint8 [H, W, 3] RGB (16-bit scaled, grey expanded, alpha on white)."""
    img = decode_unchanged(read_bytes(path, "image"), path)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 2, 3, 4)):
        raise InputError(f"expected a grey, RGB or RGBA image, found array of shape {img.shape}", path)
    return _bgr_any_to_rgb(_to_uint8(img, path))


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as grey. Returns uint8 [H, W] (colour converted with ITU-R 601 luma)."""
    import cv2

    img = decode_unchanged(read_bytes(path, "image"), path)
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        return _to_uint8(img.reshape(img.shape[:2]), path)
    if img.ndim != 3 or img.shape[2] not in (2, 3, 4):
        raise InputError(f"expected a grey, RGB or RGBA image, found array of shape {img.shape}", path)
    rgb = _bgr_any_to_rgb(_to_uint8(img, path))
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def check_image_suffix(path: str | os.PathLike, suffix: str | None = None) -> str:
    """The lower-case suffix ``write_image`` encodes ``path`` as (``suffix`` when given; none: PNG), or an
    InputError naming ``path`` when it cannot encode that format."""
    suffix = ((Path(path).suffix or ".png") if suffix is None else suffix).lower()
    if suffix not in _WRITABLE:
        raise InputError(f"expected an image suffix ({', '.join(sorted(_WRITABLE))}), found {suffix!r}", path)
    return suffix


def encode_image(img: np.ndarray, suffix: str = ".png", path: str | os.PathLike | None = None) -> bytes:
    """Encode uint8 [H, W] / [H, W, 3] RGB (or uint16 grey for PNG/TIFF) to bytes in the format of `suffix`."""
    import cv2

    img = np.asarray(img)
    suffix = check_image_suffix(path or "", suffix)
    if img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    ok_dtype = img.dtype == np.uint8 or (
        img.dtype == np.uint16 and img.ndim == 2 and suffix in {".png", ".tif", ".tiff"}
    )
    if not ok_dtype:
        raise InputError(f"expected uint8 pixels (uint16 only for grey PNG/TIFF), found {img.dtype}", path)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]
    elif img.ndim != 2:
        raise InputError(f"expected an image [H, W] or [H, W, 3], found shape {img.shape}", path)
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise InputError(f"expected a non-empty image, found shape {img.shape}", path)
    ok, buf = cv2.imencode(suffix, np.ascontiguousarray(img))
    if not ok:
        raise InputError(f"OpenCV could not encode the image as {suffix}", path)
    return buf.tobytes()


def write_image(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write uint8 [H, W] grey or [H, W, 3] RGB (bool masks become 0/255) atomically; format from the suffix."""
    p = Path(path)
    atomic_write_bytes(p, encode_image(img, p.suffix or ".png", p))
