"""Frames of a video for tracking: a folder of images (sorted by name) or a video file (OpenCV), read lazily so a
long video never sits in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segcorr.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class FrameSource:
    """``path``: a folder of frames or a video file. A folder in the clips layout (``frame_TTT.png`` beside
    ``seg_TTT.png`` / ``inst_TTT.png`` label maps) gives its ``frame_*`` images only; any other folder gives
    every image in it, sorted by name. ``len()`` is the frame count (for a video, OpenCV's count,
    which some containers only estimate; ``count_known`` says whether it is exact). Iterating yields uint8
    [H, W, 3] RGB frames."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("frames folder or video not found", self.path)
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            frames = [p for p in self.files if p.name.startswith("frame_")]
            if frames:
                self.files = frames
            if not self.files:
                raise InputError(f"no frames ({', '.join(IMAGE_SUFFIXES)}) in the folder", self.path)
            self._count, self.count_known = len(self.files), True
        else:
            import cv2

            from segcorr.io.video import open_video

            self.files = None
            cap = open_video(self.path)
            ok = cap.isOpened()
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
            first_ok = ok and cap.read()[0]
            cap.release()
            if not first_ok:
                raise InputError("not a readable video (OpenCV could not decode a frame)", self.path)
            self._count, self.count_known = max(n, 0), False

    def __len__(self) -> int:
        return self._count

    def name(self, t: int) -> str:
        return self.files[t].name if self.files is not None else f"{self.path.name}#{t}"

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.files is not None:
            from segcorr.io.image import read_image

            for p in self.files:
                yield read_image(p)
            return
        from segcorr.io.video import video_frames

        yield from video_frames(self.path)
