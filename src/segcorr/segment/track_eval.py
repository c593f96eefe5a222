"""``segcorr eval track``: video object segmentation on the clips layout (what ``segcorr synth clips`` writes).

Protocol (one for every method):
- ``prompt="mask"`` (semi-supervised VOS): each ground-truth instance is prompted with its true mask on the
  first frame where it is visible (an object entering later is prompted on its entry frame), under its own id.
  It is scored on every later frame of the clip, including frames where it is absent (an empty answer there
  scores J = F = 1, a mask scores 0): leaving and coming back is part of the test.
- ``prompt="text"``: each concept name of the clip's instances is given as a phrase before frame 0; the
  predicted masklets of a phrase are matched one-to-one to its true instances by space-time IoU (Hungarian);
  every frame is scored; an instance left unmatched scores as an empty prediction.
Metrics (``segcorr.metrics.video``): ``j`` and ``f`` are means over objects of per-object means over frames
(DAVIS), ``jf`` their mean, ``st_iou`` the mean over objects of each masklet's space-time IoU.
``ms_per_frame`` is the method's wall time per frame (reading PNGs excluded), ``peak_rss_mb`` the process's peak
resident memory at the end.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np

from segcorr.errors import InputError
from segcorr.metrics.video import ObjectScores
from segcorr.segment.tracker import ObjectPrompt

METHODS = ("builtin", "flow-propagate", "flow-propagate-dis")
PROMPTS = ("mask", "text")


def clip_dirs(root: Path) -> list[Path]:
    """The ``clip_*`` folders of a clips root (or the root itself when it is one clip)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("expected a clips folder", root)
    if (root / "masklets.json").exists():
        return [root]
    dirs = sorted(d for d in root.iterdir() if d.is_dir() and (d / "masklets.json").exists())
    if not dirs:
        raise InputError("no clip folders (clip_NNNNN/ with masklets.json) found", root)
    return dirs


class ClipReader:
    """One clip folder: frames, 16-bit instance maps and the masklets' concepts and first visible frames."""

    def __init__(self, d: Path) -> None:
        self.dir = Path(d)
        try:
            doc = json.loads((self.dir / "masklets.json").read_text())
            self.instances = {
                int(k): {"concept": str(v["concept"]), "frames": sorted(int(t) for t in v["frames"])}
                for k, v in doc.items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise InputError(f"unreadable masklets.json ({e})", self.dir / "masklets.json") from None
        self.frame_paths = sorted(self.dir.glob("frame_*.png"))
        if not self.frame_paths:
            raise InputError("no frame_TTT.png files", self.dir)
        self.num_frames = len(self.frame_paths)

    def frame(self, t: int) -> np.ndarray:
        from segcorr.io.image import read_image

        return read_image(self.frame_paths[t])

    def instance_map(self, t: int, hw: tuple[int, int] | None = None) -> np.ndarray:
        """Frame t's ground-truth instance ids [H, W]; ``hw``: the frame's (height, width), which it must have."""
        from segcorr.io.labelmap import read_labelmap

        p = self.dir / self.frame_paths[t].name.replace("frame_", "inst_")
        if not p.exists():
            raise InputError("missing instance map", p)
        inst = read_labelmap(p)
        if hw is not None and inst.shape != tuple(hw):
            raise InputError(f"instance map is {inst.shape[1]}x{inst.shape[0]}, its frame {hw[1]}x{hw[0]}", p)
        return inst

    def first_frames(self) -> dict[int, int]:
        """instance id -> first frame where it is visible (instances never visible are left out)."""
        return {k: v["frames"][0] for k, v in self.instances.items() if v["frames"]}


def make_method(
    name: str,
    weights: str = "sam3_tiny",
    memory_weights: str | None = None,
    mode: str = "auto",
    refine: str = "snap",
    motion: str = "regions",
    config: dict | None = None,
):
    """A streaming tracker by method name (``METHODS``): reset(), add_text(phrase), step(frame, prompts).
    ``config``: further ``TrackerConfig`` fields for the builtin method (validation sweeps)."""
    if name == "builtin":
        from segcorr.segment.tracker import Sam3Tracker

        return Sam3Tracker.from_pretrained(
            weights, memory_weights=memory_weights, refine=refine, mode=mode, motion=motion, **(config or {})
        )
    if name in ("flow-propagate", "flow-propagate-dis"):
        from segcorr.segment.flow_propagate import FlowPropagator

        return FlowPropagator("aniflowformer-v3" if name == "flow-propagate" else "dis-medium", snap=refine == "snap")
    raise InputError(f"unknown tracking method {name!r}; expected one of {', '.join(METHODS)}")


def _match(pred: dict[int, np.ndarray], gt: dict[int, np.ndarray]) -> dict[int, int | None]:
    """gt id -> predicted id, one-to-one by space-time IoU (pred/gt: id -> bool [T, H, W])."""
    from scipy.optimize import linear_sum_assignment

    g_ids, p_ids = list(gt), list(pred)
    out: dict[int, int | None] = {g: None for g in g_ids}
    if not g_ids or not p_ids:
        return out
    w = np.zeros((len(g_ids), len(p_ids)))
    for a, g in enumerate(g_ids):
        for b, p in enumerate(p_ids):
            u = np.count_nonzero(gt[g] | pred[p])
            w[a, b] = np.count_nonzero(gt[g] & pred[p]) / u if u else 0.0
    rows, cols = linear_sum_assignment(w, maximize=True)
    for a, b in zip(rows, cols):
        if w[a, b] > 0:
            out[g_ids[a]] = p_ids[b]
    return out


def track_clip(method: Any, clip: ClipReader, prompt: str = "mask") -> tuple[np.ndarray, np.ndarray, float, dict]:
    """Run ``method`` over one clip. Returns (predicted label maps uint16 [T, H, W], true instance maps
    [T, H, W], seconds spent in the method, predicted id -> phrase (text prompts))."""
    method.reset()
    first = clip.first_frames()
    if prompt == "text":
        for phrase in sorted({clip.instances[k]["concept"] for k in first}):
            method.add_text(phrase)
    preds, gts, spent = [], [], 0.0
    for t in range(clip.num_frames):
        img = clip.frame(t)
        inst = clip.instance_map(t, img.shape[:2])
        prompts = [ObjectPrompt(obj_id=k, mask=inst == k) for k, t0 in first.items() if t0 == t and prompt == "mask"]
        t0 = time.perf_counter()
        r = method.step(img, prompts)
        spent += time.perf_counter() - t0
        preds.append(r.labels())
        gts.append(inst.astype(np.uint16))
    phrases = {i: tr.phrase for i, tr in getattr(method, "tracks", {}).items()}
    return np.stack(preds), np.stack(gts), spent, phrases


def score_clip(
    pred: np.ndarray, gt: np.ndarray, clip: ClipReader, prompt: str, phrases: dict[int, str | None]
) -> list[ObjectScores]:
    """Per-instance scores of one clip under the protocol of the module docstring."""
    first = clip.first_frames()
    out = []
    if prompt == "mask":
        for k, t0 in sorted(first.items()):
            acc = ObjectScores()
            for t in range(t0 + 1, clip.num_frames):
                acc.add(pred[t] == k, gt[t] == k)
            if acc.n:
                out.append(acc)
        return out
    for concept in sorted({clip.instances[k]["concept"] for k in first}):
        g = {k: gt == k for k in first if clip.instances[k]["concept"] == concept}
        p = {i: pred == i for i, ph in phrases.items() if ph == concept}
        for k, i in _match(p, g).items():
            acc = ObjectScores()
            for t in range(clip.num_frames):
                acc.add(pred[t] == i if i is not None else np.zeros_like(g[k][t]), g[k][t])
            out.append(acc)
    return out


def reentries(pred: np.ndarray, gt: np.ndarray, ids: list[int], window: int = 3) -> tuple[int, int]:
    """Objects that leave the view and come back: (re-entries, re-entries where the prediction under the same
    id has IoU >= 0.5 with the truth on one of the first ``window`` frames after the return)."""
    n = kept = 0
    for k in ids:
        vis = (gt == k).reshape(len(gt), -1).any(1)
        for t in range(1, len(gt)):
            if vis[t] and not vis[t - 1] and vis[:t].any():
                n += 1
                for u in range(t, min(t + window, len(gt))):
                    g, p = gt[u] == k, pred[u] == k
                    if np.count_nonzero(g & p) >= 0.5 * max(np.count_nonzero(g | p), 1):
                        kept += 1
                        break
    return n, kept


def summarise(scores: list[ObjectScores]) -> dict[str, Any]:
    """``objects``, and the means over objects of ``j``, ``f``, their mean ``jf`` and ``st_iou`` (None without
    objects)."""
    if not scores:
        return {"objects": 0, "j": None, "f": None, "jf": None, "st_iou": None}
    j, f = float(np.mean([s.j for s in scores])), float(np.mean([s.f for s in scores]))
    st = float(np.mean([s.st_iou for s in scores]))
    return {"objects": len(scores), "j": j, "f": f, "jf": (j + f) / 2, "st_iou": st}


def evaluate_tracking(
    data: Path, method: str, prompt: str = "mask", limit: int | None = None, progress: bool = True, **method_kw
) -> dict[str, Any]:
    """Evaluate ``method`` on every clip of ``data`` (or the first ``limit``). Returns the DESIGN metrics dict
    (``method``, ``data``, ``count``, ``j``, ``f``, ``jf``, ``st_iou``, ``ms_per_frame``, ``peak_rss_mb``, plus
    ``prompt``, ``frames``, ``objects``, and with mask prompts ``reentries`` / ``reentries_kept``: objects that
    left and came back, and how often the same id had them again within 3 frames)."""
    from rich.progress import Progress

    if prompt not in PROMPTS:
        raise InputError(f"unknown prompt kind {prompt!r}; expected one of {', '.join(PROMPTS)}")
    dirs = clip_dirs(Path(data))[:limit]
    clips = [ClipReader(d) for d in dirs]
    tracker = make_method(method, **method_kw)
    if prompt == "text" and not hasattr(tracker, "tracks"):
        raise InputError(f"method {method} takes mask prompts only; use --prompt mask")
    scores: list[ObjectScores] = []
    frames, spent, back, back_kept = 0, 0.0, 0, 0
    with Progress(disable=not progress, transient=True) as prog:
        task = prog.add_task(f"track {method}", total=sum(c.num_frames for c in clips))
        for clip in clips:
            pred, gt, s, phrases = track_clip(tracker, clip, prompt)
            scores += score_clip(pred, gt, clip, prompt, phrases)
            if prompt == "mask":
                n, k = reentries(pred, gt, sorted(clip.first_frames()))
                back, back_kept = back + n, back_kept + k
            frames += clip.num_frames
            spent += s
            prog.advance(task, clip.num_frames)
    return {
        "method": method,
        "data": str(data),
        "count": len(clips),
        "prompt": prompt,
        "frames": frames,
        **summarise(scores),
        "reentries": back,
        "reentries_kept": back_kept,
        "ms_per_frame": 1000.0 * spent / frames if frames else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }
