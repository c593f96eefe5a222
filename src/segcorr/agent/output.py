"""Writing an agent's answer: mask_NN.png (0/255), overlay.png, transcript.json, masks.json (last).

Each file is written atomically; masks.json, the index of the others, comes last so a reader who finds
it finds everything it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from segcorr.agent.loop import AgentResult
from segcorr.io.atomic import atomic_write_text
from segcorr.io.mask_folder import remove_stale_masks, write_mask_pictures


def write_result(out: str | Path, image: np.ndarray, result: AgentResult) -> Path:
    """Write the answer into folder `out`. image: uint8 [H, W, 3]. Returns the path of masks.json.

    masks.json = {"presence": float or null, "status": ..., "masks": [{"file", "score", "iou_pred",
    "box": [x0, y0, x1, y1], "prompt"}]} (the layout of `segcorr segment`, plus the agent's status).
    """
    out = Path(out)
    stack = np.stack([m.mask for m in result.masks]) if result.masks else np.zeros((0, *image.shape[:2]), bool)
    names = write_mask_pictures(out, image, stack)
    entries = [
        {"file": name, "score": m.score, "iou_pred": m.iou_pred, "box": m.box, "prompt": m.prompt}
        for name, m in zip(names, result.masks)
    ]
    atomic_write_text(out / "transcript.json", json.dumps(result.transcript, indent=2) + "\n")
    index = {"presence": result.presence, "status": result.status, "masks": entries}
    atomic_write_text(out / "masks.json", json.dumps(index, indent=2) + "\n")
    remove_stale_masks(out, names)
    return out / "masks.json"
