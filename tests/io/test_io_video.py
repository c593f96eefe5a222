"""Video frames through OpenCV: order, RGB channel order, and nothing from a file that is not a video."""

from __future__ import annotations

import cv2
import numpy as np

from segcorr.io.video import video_frames


def _write_video(path, colours_bgr):
    wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (32, 24))
    for c in colours_bgr:
        wr.write(np.full((24, 32, 3), c, np.uint8))
    wr.release()


def test_frames_come_in_order_as_rgb(tmp_path):
    path = tmp_path / "v.avi"
    _write_video(path, [(0, 0, 255), (255, 0, 0), (0, 255, 0)])  # BGR: red, blue, green
    frames = list(video_frames(path))
    assert len(frames) == 3 and all(f.shape == (24, 32, 3) and f.dtype == np.uint8 for f in frames)
    dominant = [int(np.argmax(f.reshape(-1, 3).mean(0))) for f in frames]
    assert dominant == [0, 2, 1]  # RGB channel of red, blue, green


def test_a_file_that_is_not_a_video_yields_nothing(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("not a video")
    assert list(video_frames(path)) == []
