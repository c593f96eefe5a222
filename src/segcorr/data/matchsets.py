"""Readers for the two matching layouts (DESIGN): homography pairs and pose pairs (SuperGlue format).

Homography: ``NNNNN_img0.png NNNNN_img1.png NNNNN_H.txt`` (3x3 ASCII, maps img0 pixels ``(x, y, 1)`` to img1).
Pose: a folder with ``pairs_with_gt.txt``, one pair a line ``name0 name1 rot0 rot1 K0(9) K1(9) T_0to1(16)``
(row-major; names relative to the folder or to its ``images/``), and the images.
Both readers are lazy (images decoded in ``__getitem__``) and check every text file when opened, so a
corrupt file fails before any work, with its name and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcorr.errors import InputError

PAIRS_FILE = "pairs_with_gt.txt"
_H_PART = re.compile(r"^(?P<stem>.+)_(?P<part>img0|img1)\.png$|^(?P<hstem>.+)_H\.txt$")


@dataclass
class MatchPair:
    """One evaluation pair. ``img0/img1``: uint8 [H, W, 3] RGB. ``kind``: "homography" (``H`` set) or
    "pose" (``K0``, ``K1``, ``T_0to1`` set)."""

    name: str
    img0: np.ndarray
    img1: np.ndarray
    kind: str
    H: np.ndarray | None = None
    K0: np.ndarray | None = None
    K1: np.ndarray | None = None
    T_0to1: np.ndarray | None = None


def _parse_numbers(text: str, n: int, path: Path, what: str, line: int | None = None) -> np.ndarray:
    where = f"line {line}: " if line is not None else ""
    try:
        vals = np.array([float(v) for v in text.split()], np.float64)
    except ValueError:
        raise InputError(f"{where}expected {n} numbers for {what}, found non-numeric text", path) from None
    if vals.size != n:
        raise InputError(f"{where}expected {n} numbers for {what}, found {vals.size}", path)
    if not np.isfinite(vals).all():
        raise InputError(f"{where}expected finite numbers for {what}, found inf or nan", path)
    return vals


def read_homography(path: str | Path) -> np.ndarray:
    """A 3x3 ASCII homography file -> float64 [3, 3]; not 9 finite numbers or singular -> InputError."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read homography ({e})", path) from None
    H = _parse_numbers(text, 9, path, "a 3x3 homography").reshape(3, 3)
    if abs(np.linalg.det(H)) < 1e-12:
        raise InputError("expected an invertible 3x3 homography, found a singular matrix", path)
    return H


def check_intrinsics(K: np.ndarray, path: Path, line: int, which: str) -> None:
    """InputError naming the line unless K [3, 3] is finite intrinsics [[fx,0,cx],[0,fy,cy],[0,0,1]], fx, fy > 0."""
    if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0 or abs(K[2, 2] - 1.0) > 1e-6 or np.any(K[2, :2] != 0):
        raise InputError(
            f"line {line}: expected {which} as [[fx,0,cx],[0,fy,cy],[0,0,1]] with fx, fy > 0, "
            f"found {K.ravel().tolist()}",
            path,
        )


def _check_pose(T: np.ndarray, path: Path, line: int) -> None:
    R = T[:3, :3]
    if not np.allclose(T[3], [0, 0, 0, 1], atol=1e-6) or not np.allclose(R @ R.T, np.eye(3), atol=1e-2):
        raise InputError(
            f"line {line}: expected T_0to1 as a rigid 4x4 pose [R t; 0 0 0 1], found {T.ravel().tolist()}", path
        )


def pair_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number from 1, whitespace-split fields) of every pair line of a pairs text file: blank lines and
    ``#`` comments skipped. A file that is not text, or holds no pair line, is an InputError naming it; a file
    that cannot be opened raises the OSError (callers word it)."""
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise InputError("expected a text pairs file, found binary data", path) from None
    rows = [(no, raw.split()) for no, raw in enumerate(lines, 1)]
    rows = [(no, f) for no, f in rows if f and not f[0].startswith("#")]
    if not rows:
        raise InputError("expected at least one pair line, found none", path)
    return rows


def find_image(root: Path, name: str, listed_in: Path, line: int | None = None) -> Path:
    """``root/name`` or ``root/images/name``; missing -> InputError naming the list (and line)."""
    for p in (root / name, root / "images" / name):
        if p.is_file():
            return p
    where = f" (line {line})" if line is not None else ""
    raise InputError(
        f"image {name!r} listed in {listed_in.name}{where} not found (looked in the folder and images/)", root / name
    )


class HomographyPairs:
    """Homography layout, sorted by stem. ``ds[i] -> MatchPair(kind="homography")``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        parts: dict[str, set[str]] = {}
        for p in self.root.iterdir():
            m = _H_PART.match(p.name)
            if m and p.is_file():
                stem = m["stem"] or m["hstem"]
                parts.setdefault(stem, set()).add(m["part"] or "H")
        if not parts:
            raise InputError(
                "no homography pairs found (expected NNNNN_img0.png, NNNNN_img1.png, NNNNN_H.txt)", self.root
            )
        for stem, have in sorted(parts.items()):
            missing = sorted({"img0", "img1", "H"} - have)
            if missing:
                names = {"img0": "_img0.png", "img1": "_img1.png", "H": "_H.txt"}
                raise InputError(f"pair {stem} is missing {', '.join(stem + names[m] for m in missing)}", self.root)
        self.stems = sorted(parts)
        self.H = [read_homography(self.root / f"{s}_H.txt") for s in self.stems]

    def __len__(self) -> int:
        return len(self.stems)

    def __getitem__(self, i: int) -> MatchPair:
        from segcorr.io.image import read_image

        s = self.stems[i]
        return MatchPair(
            s,
            read_image(self.root / f"{s}_img0.png"),
            read_image(self.root / f"{s}_img1.png"),
            "homography",
            H=self.H[i],
        )


class PosePairs:
    """Pose pairs of ``root/pairs_with_gt.txt`` in file order. ``ds[i] -> MatchPair(kind="pose")``.

    Only EXIF rotation 0 is supported (the intrinsics and poses must describe the images as stored).
    """

    def __init__(self, root: str | Path, pairs_file: str | Path | None = None) -> None:
        self.root = Path(root)
        path = Path(pairs_file) if pairs_file is not None else self.root / PAIRS_FILE
        try:
            rows = pair_lines(path)
        except OSError as e:
            raise InputError(f"cannot read pairs file ({e.strerror or e})", path) from None
        self.items: list[tuple[str, str, np.ndarray, np.ndarray, np.ndarray]] = []
        for no, fields in rows:
            if len(fields) != 38:
                raise InputError(
                    f"line {no}: expected 38 fields (name0 name1 rot0 rot1 K0(9) K1(9) T_0to1(16)), "
                    f"found {len(fields)}",
                    path,
                )
            nums = _parse_numbers(" ".join(fields[2:]), 36, path, "rot0 rot1 K0 K1 T_0to1", no)
            if nums[0] != 0 or nums[1] != 0:
                raise InputError(
                    f"line {no}: EXIF rotations {int(nums[0])} {int(nums[1])} are not supported (expected 0 0)", path
                )
            K0, K1, T = nums[2:11].reshape(3, 3), nums[11:20].reshape(3, 3), nums[20:36].reshape(4, 4)
            check_intrinsics(K0, path, no, "K0")
            check_intrinsics(K1, path, no, "K1")
            _check_pose(T, path, no)
            self.items.append((fields[0], fields[1], K0, K1, T))
        self.pairs_file = path

    def image_path(self, name: str) -> Path:
        return find_image(self.root, name, self.pairs_file)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> MatchPair:
        from segcorr.io.image import read_image

        n0, n1, K0, K1, T = self.items[i]
        return MatchPair(
            f"{Path(n0).stem}__{Path(n1).stem}",
            read_image(self.image_path(n0)),
            read_image(self.image_path(n1)),
            "pose",
            K0=K0,
            K1=K1,
            T_0to1=T,
        )


def open_match_dataset(root: str | Path) -> HomographyPairs | PosePairs:
    """The matching set in ``root``: pose pairs when it holds ``pairs_with_gt.txt`` (or is such a file),
    else homography pairs."""
    root = Path(root)
    if root.is_file():
        return PosePairs(root.parent, root)
    if not root.is_dir():
        raise InputError("data folder not found", root)
    if (root / PAIRS_FILE).is_file():
        return PosePairs(root)
    return HomographyPairs(root)
