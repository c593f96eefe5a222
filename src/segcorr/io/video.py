"""Frames of a video file through OpenCV, decoded one at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


def open_video(path: str | Path):
    """``cv2.VideoCapture`` of ``path`` with FFmpeg's own log lines off (unless ``OPENCV_FFMPEG_LOGLEVEL`` is set):
    a file it cannot decode is reported once, by the caller, not by FFmpeg's messages on stderr."""
    import os

    import cv2

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # read when the capture opens; -8: quiet
    return cv2.VideoCapture(str(path))


def video_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Yield the frames of the video at ``path`` in order as uint8 [H, W, 3] RGB until OpenCV reads no more (a
    file it cannot open yields nothing). Lazy, so a long video never sits in memory; the capture is released when
    the iteration ends or is closed."""
    import cv2

    cap = open_video(path)
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
