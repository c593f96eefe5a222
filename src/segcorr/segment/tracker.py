"""``Sam3Tracker``: masklets through a video with persistent object ids, on the builtin concept model.

Frames arrive one at a time (``step``), so a video of any length runs in bounded memory: per object the tracker
keeps a fixed-size state (``ObjectTrack``), never a per-frame history.

Two propagation modes (``TrackerConfig.mode``):

- ``"reprompt"`` (the default while no trained memory weights exist): every frame, each object is prompted
  again from its last mask: the mask itself as a mask prompt (stride-4 cell shares scaled to logits, as in
  training), a positive click at its innermost pixel and, optionally, its box, all shifted by the object's last
  displacement. Needs only the image model. The object score decides absence.
- ``"memory"`` (SAM 2 / SAM 3 tracker): the frame's features are conditioned by memory attention on a bounded
  bank per object, the prompted frame as conditioning memory plus a FIFO of the ``num_maskmem - 1`` most
  recent frames (each with its object pointer); the decoder then answers without prompts. Needs trained
  ``Sam3TrackMemory`` weights (``memory=``); ``"auto"`` picks it exactly when they are given.

In both modes an object whose score is <= 0 (or whose mask vanishes) is absent this frame: its score is
``NO_OBJ_SCORE`` (-1024), its mask empty, and its last good state is kept so it can come back (reprompt: it is
prompted from its last good position every frame and accepted back when the answer is plausible; memory: the
memories decide). Prompts may arrive on any frame: a new id starts a masklet, a known id is corrected (its
previous mask joins the clicks as a mask prompt) and the prompted frame becomes its conditioning memory.
Text phrases (``add_text``) are detected on the frame they are added and every ``detect_every`` frames after;
detections are matched to that phrase's masklets by mask IoU, bring absent ones back, and start new ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from segcorr.errors import InputError
from segcorr.segment.memory import MemoryEntry, Sam3TrackMemory
from segcorr.segment.model.sam3 import NO_OBJ_SCORE
from segcorr.segment.predictor import Sam3Predictor, as_rgb_uint8, check_phrase

MODES = ("auto", "reprompt", "memory")
MOTIONS = ("flow", "velocity", "none")
MAX_ID = 65535  # label maps are 16-bit


@dataclass(frozen=True)
class TrackerConfig:
    """mode: see the module docstring. num_maskmem: memory frames per object (1 conditioning + FIFO of the rest).
    detect_every: text detection period K (frames). assoc_iou: least mask IoU to match a detection to a masklet.
    det_threshold: least detection score kept. max_objects: masklets at most. reprompt_inputs: what the reprompt
    mode sends ("mask", "point", "box"). motion: how reprompts follow the object: "flow" (the last mask warped
    along DIS flow between the frames at the model's working size), "velocity" (shifted by its last
    displacement) or "none". flow_gate: with "flow", when the model's mask overlaps the flow-warped last mask with
    IoU below this, the warped mask stands (the model lost the object; 0 disables the check). min_pixels: smaller
    masks count as absent. recover_area_ratio / max_overlap: a reprompted absent object comes back only with an
    area within this factor of its last good one and at most this share of it under other objects."""

    mode: str = "auto"
    num_maskmem: int = 7
    detect_every: int = 8
    assoc_iou: float = 0.3
    det_threshold: float = 0.5
    max_objects: int = 64
    reprompt_inputs: tuple[str, ...] = ("mask", "point")
    mask_logit_scale: float = 6.0
    motion: str = "flow"
    flow_gate: float = 0.85
    flow_fuse: str = "gate"
    min_pixels: int = 8
    recover_area_ratio: float = 3.0
    max_overlap: float = 0.5

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"unknown tracker mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.num_maskmem < 1 or self.detect_every < 1:
            raise InputError("num_maskmem and detect_every must be >= 1")
        if self.motion not in MOTIONS:
            raise InputError(f"unknown motion {self.motion!r}; expected one of {', '.join(MOTIONS)}")
        bad = sorted(set(self.reprompt_inputs) - {"mask", "point", "box"})
        if bad or not self.reprompt_inputs:
            raise InputError(f"reprompt_inputs must be some of mask, point, box; found {list(self.reprompt_inputs)}")


@dataclass
class ObjectPrompt:
    """Prompt for one object on the frame it is given with. obj_id: None starts a new masklet; a known id
    corrects it. points [P, 2] (x, y) pixels with labels [P] (1 on, 0 not on); box [4] x0, y0, x1, y1;
    mask bool [H, W] (used as the answer on this frame, SAM 2's mask-as-output)."""

    obj_id: int | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    box: np.ndarray | None = None
    mask: np.ndarray | None = None


@dataclass
class ObjectTrack:
    """Bounded state of one object. The ``last_*`` fields describe its last good mask (what reprompts and
    recovery start from); ``cond`` and ``recent`` are its memory bank (memory mode)."""

    obj_id: int
    phrase: str | None
    num_recent: int
    present: bool = False
    score: float = NO_OBJ_SCORE
    best_score: float = 0.0
    last_t: int = -1
    last_prompt: np.ndarray | None = None  # [h4, w4] mask-prompt logits
    last_small: np.ndarray | None = None  # float32 [sh, sw]: the mask at the model's working size
    last_point: np.ndarray | None = None  # [2] x, y
    last_box: np.ndarray | None = None  # [4]
    last_area: int = 0
    last_centroid: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    cond: MemoryEntry | None = None
    recent: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.recent = deque(maxlen=max(self.num_recent, 0))

    def memories(self) -> list[MemoryEntry]:
        return ([self.cond] if self.cond is not None else []) + list(self.recent)


@dataclass
class FrameResult:
    """One frame's answer: ids [N] of every object known so far, masks bool [N, H, W], scores [N] (object score
    logits; NO_OBJ_SCORE where absent), present bool [N]."""

    t: int
    ids: list[int]
    masks: np.ndarray
    scores: np.ndarray
    present: np.ndarray

    def labels(self) -> np.ndarray:
        """Label map uint16 [H, W]: value = object id, 0 = none (masks never overlap)."""
        out = np.zeros(self.masks.shape[1:], np.uint16)
        for i, m in zip(self.ids, self.masks):
            out[m] = i
        return out


def _box(m: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def innermost_point(m: np.ndarray) -> np.ndarray:
    """Centre (x, y) of the pixel of bool mask [H, W] farthest from its outside; among ties, the one nearest
    the ties' mean (the middle of a ridge, not its end)."""
    import cv2

    dist = cv2.distanceTransform(np.pad(m, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    cand = np.argwhere(dist >= dist.max() - 1e-4)
    y, x = cand[int(np.argmin(((cand - cand.mean(0)) ** 2).sum(1)))]
    return np.array([x + 0.5, y + 0.5], np.float32)


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


class Sam3Tracker:
    """Streaming tracker over a ``Sam3Predictor``. ``memory``: trained ``Sam3TrackMemory`` (memory mode)."""

    def __init__(
        self, predictor: Sam3Predictor, config: TrackerConfig = TrackerConfig(), memory: Sam3TrackMemory | None = None
    ) -> None:
        mode = config.mode
        if mode == "auto":
            mode = "memory" if memory is not None else "reprompt"
        if mode == "memory" and memory is None:
            raise InputError("tracker mode 'memory' needs trained memory weights (memory=...)")
        if memory is not None and memory.d_model != predictor.model.config.d_model:
            raise InputError(
                f"memory width {memory.d_model} does not fit the image model's {predictor.model.config.d_model}"
            )
        self.predictor = predictor
        self.config = config
        self.mode = mode
        self.memory = memory.eval() if memory is not None else None
        self.reset()

    @classmethod
    def from_pretrained(
        cls, weights: str = "sam3_tiny", memory_weights: str | None = None, refine: str = "snap", **config
    ) -> Sam3Tracker:
        """Image model weights by name or path; ``memory_weights``: a ``Sam3TrackMemory`` .safetensors (its
        metadata names the config), or None (reprompt mode)."""
        predictor = Sam3Predictor.from_pretrained(weights, refine=refine)
        memory = load_memory(memory_weights) if memory_weights is not None else None
        return cls(predictor, TrackerConfig(**config), memory)

    # ------------------------------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget every object and phrase; the next ``step`` is frame 0."""
        self.tracks: dict[int, ObjectTrack] = {}
        self.phrases: dict[str, int] = {}  # phrase -> frame it was added
        self._reserved: set[int] = set()
        self._prev_grey: np.ndarray | None = None
        self._flow: np.ndarray | None = None
        self.t = 0
        self._hw: tuple[int, int] | None = None
        self.predictor.reset_image()

    def add_text(self, phrase: str) -> None:
        """Track every instance of ``phrase`` from the next frame on (detected then and every K frames)."""
        p = check_phrase(phrase)
        if p not in self.phrases:
            self.phrases[p] = self.t

    def reserve_ids(self, ids) -> None:
        """Ids that prompts on later frames will use: masklets started by text detections skip them."""
        self._reserved |= {int(i) for i in ids}

    def _new_id(self) -> int:
        return max(set(self.tracks) | self._reserved, default=0) + 1

    def _track(self, obj_id: int | None, phrase: str | None = None) -> ObjectTrack:
        if obj_id is None:
            obj_id = self._new_id()
        if not isinstance(obj_id, (int, np.integer)) or not 1 <= int(obj_id) <= MAX_ID:
            raise InputError(f"expected an object id in 1..{MAX_ID}, found {obj_id!r}")
        obj_id = int(obj_id)
        if obj_id not in self.tracks:
            if len(self.tracks) >= self.config.max_objects:
                raise InputError(f"at most {self.config.max_objects} objects can be tracked")
            self.tracks[obj_id] = ObjectTrack(obj_id, phrase, self.config.num_maskmem - 1)
        return self.tracks[obj_id]

    # ------------------------------------------------------------------------------------------ frames
    @torch.no_grad()
    def step(self, frame: np.ndarray, prompts: Sequence[ObjectPrompt] = ()) -> FrameResult:
        """Process the next frame (uint8 [H, W, 3] or grey; every frame the size of the first) with the prompts
        given on it. Returns every known object's mask on this frame."""
        img = as_rgb_uint8(frame, "frame")
        hw = img.shape[:2]
        if self._hw is None:
            self._hw = hw
        elif hw != self._hw:
            raise InputError(
                f"frame {self.t} is {hw[1]}x{hw[0]}, earlier frames are {self._hw[1]}x{self._hw[0]} (expected one size)"
            )
        p = self.predictor
        p.set_image(img)
        t = self.t
        self._flow = self._flow_back() if self.mode == "reprompt" and self.config.motion == "flow" else None
        probs: dict[int, np.ndarray] = {}  # obj id -> probability [H, W] on this frame
        scores: dict[int, float] = {}
        prompted = {}
        for pr in prompts:
            tr = self._track(pr.obj_id)
            if tr.obj_id in prompted:
                raise InputError(f"object {tr.obj_id} is prompted twice on frame {t}; give its clicks together")
            prompted[tr.obj_id] = pr
        if prompted:
            self._answer_prompts(prompted, probs, scores)
        others = [tr for i, tr in self.tracks.items() if i not in prompted and tr.last_prompt is not None]
        if others:
            if self.mode == "memory":
                self._propagate_memory(others, probs, scores)
            else:
                self._propagate_reprompt(others, probs, scores)
        exact = {i for i, pr in prompted.items() if pr.mask is not None}
        masks = self._resolve(probs, exact)
        due = [ph for ph, t0 in self.phrases.items() if t == t0 or (t - t0) % self.config.detect_every == 0]
        for ph in due:
            exact |= self._detect(ph, masks, probs, scores)
        if due:
            masks = self._resolve(probs, exact)
        self._update(masks, scores, set(prompted))
        self.t += 1
        return self._result(t, masks, scores)

    def _result(self, t: int, masks: dict[int, np.ndarray], scores: dict[int, float]) -> FrameResult:
        ids = sorted(self.tracks)
        h, w = self._hw
        m = np.zeros((len(ids), h, w), bool)
        sc = np.full(len(ids), NO_OBJ_SCORE, np.float32)
        pres = np.zeros(len(ids), bool)
        for k, i in enumerate(ids):
            if self.tracks[i].present:
                m[k] = masks[i]
                sc[k] = scores[i]
                pres[k] = True
        return FrameResult(t, ids, m, sc, pres)

    # ------------------------------------------------------------------------------------------ model calls
    def _dev(self) -> torch.device:
        return next(self.predictor.model.parameters()).device

    def _small(self, m: np.ndarray) -> np.ndarray:
        """bool [H, W] -> float32 [sh, sw]: the mask at the model's working size (area shares)."""
        import cv2

        sh, sw = self.predictor._scaled_hw
        return cv2.resize(m.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)

    def _prompt_from_small(self, small: np.ndarray) -> np.ndarray:
        """float [sh, sw] in 0..1 -> [h4, w4] mask-prompt logits (cell share * 2 - 1, scaled), as in training."""
        sh, sw = small.shape
        h4, w4 = self.predictor._feats["inter"][0].shape[-2:]
        grid = np.zeros((h4 * 4, w4 * 4), np.float32)
        grid[:sh, :sw] = small
        soft = grid.reshape(h4, 4, w4, 4).mean(axis=(1, 3))
        return (soft * 2 - 1) * self.config.mask_logit_scale

    def _mask_prompt(self, m: np.ndarray) -> np.ndarray:
        """bool [H, W] -> [h4, w4] mask-prompt logits in the predictor's frame."""
        return self._prompt_from_small(self._small(m))

    def _flow_back(self) -> np.ndarray | None:
        """DIS medium flow from this frame to the previous one at the model's working size ([2, sh, sw]), or
        None on the first frame. Frames are kept grey at that size only (bounded)."""
        import cv2

        from segcorr.flow.classical import estimate_flow

        sh, sw = self.predictor._scaled_hw
        grey = cv2.resize(
            cv2.cvtColor(self.predictor._image, cv2.COLOR_RGB2GRAY), (sw, sh), interpolation=cv2.INTER_AREA
        )
        prev, self._prev_grey = self._prev_grey, grey
        if prev is None or prev.shape != grey.shape:
            return None
        return estimate_flow(grey, prev, "dis-medium")

    def _decode(
        self,
        feats: dict,
        bidx: torch.Tensor,
        coords: list[np.ndarray],
        labels: list[np.ndarray],
        mask_in: list[np.ndarray | None],
    ) -> dict[str, torch.Tensor]:
        """One decoder call for P objects; coords are original pixels, padded to one length with label -1."""
        dev = self._dev()
        n = max(1, max(len(c) for c in coords))
        cc = np.zeros((len(coords), n, 2), np.float32)
        ll = np.full((len(coords), n), -1, np.int64)
        for k, (c, lab) in enumerate(zip(coords, labels)):
            cc[k, : len(c)], ll[k, : len(c)] = c, lab
        h4, w4 = self.predictor._feats["inter"][0].shape[-2:]
        mi = np.zeros((len(coords), 1, h4, w4), np.float32)
        has = np.array([m is not None for m in mask_in])
        for k, m in enumerate(mask_in):
            if m is not None:
                mi[k, 0] = m
        ct = torch.from_numpy(cc * self.predictor._scale).to(dev)
        return self.predictor.model.predict_prompts(
            feats, bidx, ct, torch.from_numpy(ll).to(dev), torch.from_numpy(mi).to(dev), torch.from_numpy(has).to(dev)
        )

    def _check_prompt(self, pr: ObjectPrompt, tr: ObjectTrack) -> tuple[np.ndarray, np.ndarray]:
        h, w = self._hw
        coords, labels = [np.zeros((0, 2), np.float32)], [np.zeros(0, np.int64)]
        if pr.points is not None:
            pts = np.asarray(pr.points, np.float32).reshape(-1, 2)
            lab = np.ones(len(pts), np.int64) if pr.labels is None else np.asarray(pr.labels, np.int64).reshape(-1)
            if len(lab) != len(pts) or not np.isin(lab, (0, 1)).all():
                raise InputError(f"object {tr.obj_id}: expected one label 0 or 1 per point")
            coords.append(pts)
            labels.append(lab)
        if pr.box is not None:
            b = np.asarray(pr.box, np.float32).reshape(-1)
            if b.shape != (4,) or b[2] <= b[0] or b[3] <= b[1]:
                raise InputError(f"object {tr.obj_id}: expected a box x0, y0, x1, y1 with x1 > x0, y1 > y0")
            coords.append(b.reshape(2, 2))
            labels.append(np.array([2, 3], np.int64))
        c = np.concatenate(coords)
        if len(c) and (not np.isfinite(c).all() or (c < 0).any() or (c[:, 0] > w).any() or (c[:, 1] > h).any()):
            raise InputError(f"object {tr.obj_id}: prompt {c.tolist()} lies outside the {w}x{h} frame {self.t}")
        if pr.mask is not None and np.shape(pr.mask) != (h, w):
            raise InputError(f"object {tr.obj_id}: mask prompt is {np.shape(pr.mask)}, frame {self.t} is {(h, w)}")
        if not len(c) and pr.mask is None:
            raise InputError(f"object {tr.obj_id}: expected points, a box or a mask on frame {self.t}")
        return c, np.concatenate(labels)

    def _answer_prompts(self, prompted: dict[int, ObjectPrompt], probs: dict, scores: dict) -> None:
        p = self.predictor
        ids = list(prompted)
        coords, labels, mask_in = [], [], []
        for i in ids:
            pr, tr = prompted[i], self.tracks[i]
            c, lab = self._check_prompt(pr, tr)
            if pr.mask is not None and np.asarray(pr.mask).any():
                m = np.asarray(pr.mask, bool)
                if not len(c):  # a click at its heart gives the decoder (and the object pointer) an anchor
                    c, lab = innermost_point(m)[None], np.ones(1, np.int64)
                mask_in.append(self._mask_prompt(m))
            else:
                # corrective clicks on a known object build on its last mask (SAM 2)
                mask_in.append(tr.last_prompt if tr.present and pr.mask is None else None)
            coords.append(c)
            labels.append(lab)
        dev = self._dev()
        out = self._decode(p._feats, torch.zeros(len(ids), dtype=torch.long, device=dev), coords, labels, mask_in)
        pr_probs = p._to_image(out["masks"][:, 0])
        obj = out["object_score_logits"][:, 0].cpu().numpy()
        for k, i in enumerate(ids):
            pr = prompted[i]
            if pr.mask is not None:
                m = np.asarray(pr.mask, bool)
                probs[i], scores[i] = m.astype(np.float32), max(float(obj[k]), 1.0) if m.any() else NO_OBJ_SCORE
            else:
                probs[i], scores[i] = pr_probs[k], float(obj[k])
        if self.mode == "memory":
            self._write_memory(ids, out, cond=True, masks_hr=[probs[i] for i in ids])

    def _reprompt_inputs(
        self, tr: ObjectTrack, flow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(coords [N, 2] original pixels, labels [N], mask-prompt logits [h4, w4] or None) for one object: its
        last mask moved by the flow (``flow``: [2, sh, sw] from this frame back to the last) or its velocity."""
        h, w = self._hw
        inputs = self.config.reprompt_inputs
        point, box, prompt = tr.last_point, tr.last_box, tr.last_prompt
        moved = tr.present and tr.last_t == self.t - 1
        if flow is not None and moved and tr.last_small is not None:
            warped = warp_backward(tr.last_small, flow)
            if (warped > 0.5).sum() >= 1:
                s = self.predictor._scale
                point = innermost_point(warped > 0.5) / s
                box = _box(warped > 0.5) / s
                prompt = self._prompt_from_small(warped)
        elif self.config.motion == "velocity" and moved:
            shift = tr.velocity
            point, box = tr.last_point + shift, tr.last_box + np.concatenate([shift, shift])
            cells = np.round(shift * self.predictor._scale / 4).astype(int)
            prompt = _shift(tr.last_prompt, int(cells[0]), int(cells[1]), fill=-self.config.mask_logit_scale)
        coords, labels = [], []
        if "point" in inputs:
            coords.append(np.clip(point, 0, [w - 0.5, h - 0.5])[None])
            labels.append(np.ones(1, np.int64))
        if "box" in inputs:
            b = np.clip(box, 0, [w, h, w, h])
            if b[2] - b[0] >= 1 and b[3] - b[1] >= 1:
                coords.append(b.reshape(2, 2))
                labels.append(np.array([2, 3], np.int64))
        mask = prompt if "mask" in inputs else None
        c = np.concatenate(coords) if coords else np.zeros((0, 2), np.float32)
        lab = np.concatenate(labels) if labels else np.zeros(0, np.int64)
        return c, lab, mask

    def _propagate_reprompt(self, tracks: list[ObjectTrack], probs: dict, scores: dict) -> None:
        p = self.predictor
        import cv2

        coords, labels, mask_in = zip(*(self._reprompt_inputs(tr, self._flow) for tr in tracks))
        dev = self._dev()
        out = self._decode(
            p._feats, torch.zeros(len(tracks), dtype=torch.long, device=dev), list(coords), list(labels), list(mask_in)
        )
        pr = p._to_image(out["masks"][:, 0])
        obj = out["object_score_logits"][:, 0].cpu().numpy()
        h, w = self._hw
        for k, tr in enumerate(tracks):
            probs[tr.obj_id], scores[tr.obj_id] = pr[k], float(obj[k])
            if (
                self._flow is None
                or self.config.flow_gate <= 0
                or obj[k] <= 0
                or tr.last_small is None
                or not (tr.present and tr.last_t == self.t - 1)
            ):
                continue
            warped = warp_backward(tr.last_small, self._flow)
            sh, sw = warped.shape
            if self.config.flow_fuse == "mean":
                probs[tr.obj_id] = 0.5 * (pr[k] + cv2.resize(warped, (w, h), interpolation=cv2.INTER_LINEAR))
                continue
            mine = cv2.resize(pr[k], (sw, sh), interpolation=cv2.INTER_AREA) > 0.5
            wb = warped > 0.5
            union = np.count_nonzero(mine | wb)
            if union and np.count_nonzero(mine & wb) / union < self.config.flow_gate:
                probs[tr.obj_id] = cv2.resize(warped, (w, h), interpolation=cv2.INTER_LINEAR)

    def _propagate_memory(self, tracks: list[ObjectTrack], probs: dict, scores: dict) -> None:
        p, mem = self.predictor, self.memory
        feats = p._feats
        if "high_res" not in feats:
            feats["high_res"] = p.model.mask_decoder.project_high_res(*feats["inter"][:2])
        f16 = feats["inter"][2]
        cond = mem.condition(f16[0], feats["pos16"], [tr.memories() for tr in tracks], self.t)
        n = len(tracks)
        per_obj = {
            "inter": [feats["inter"][0], feats["inter"][1], cond],
            "high_res": tuple(f.expand(n, -1, -1, -1) for f in feats["high_res"]),
            "pos16": feats["pos16"],
            "size": feats["size"],
        }
        dev = self._dev()
        empty = [np.zeros((0, 2), np.float32)] * n
        out = self._decode(per_obj, torch.arange(n, device=dev), empty, [np.zeros(0, np.int64)] * n, [None] * n)
        pr = p._to_image(out["masks"][:, 0])
        obj = out["object_score_logits"][:, 0].cpu().numpy()
        for k, tr in enumerate(tracks):
            probs[tr.obj_id], scores[tr.obj_id] = pr[k], float(obj[k])
        self._write_memory([tr.obj_id for tr in tracks], out, cond=False)

    def _write_memory(self, ids: list[int], out: dict, cond: bool, masks_hr: list[np.ndarray] | None = None) -> None:
        """Encode this frame's answers into each object's bank: a prompted frame replaces the conditioning
        memory, any other joins the FIFO (its oldest entry falls out)."""
        p, mem = self.predictor, self.memory
        f16 = p._feats["inter"][2]
        logits = out["masks"][:, :1]
        if masks_hr is not None:  # prompted masks given as answers: encode them, not the decoder's guess
            logits = torch.stack([torch.from_numpy(self._mask_prompt(m > 0.5)) for m in masks_hr])[:, None]
            logits = logits.to(f16) * 4
        obj = out["object_score_logits"]
        feat = mem.encode(f16.expand(len(ids), -1, -1, -1), logits, obj)
        ptr = mem.pointer(out["sam_tokens"], obj)
        for k, i in enumerate(ids):
            e = MemoryEntry(feat[k].detach(), ptr[k].detach(), self.t, cond)
            tr = self.tracks[i]
            if cond:
                tr.cond = e
            else:
                tr.recent.append(e)

    # ------------------------------------------------------------------------------------------ text
    def _detect(self, phrase: str, masks: dict[int, np.ndarray], probs: dict, scores: dict) -> set[int]:
        """Detect ``phrase``; match detections to its masklets; start or bring back masklets. Returns the ids
        whose mask on this frame is now a detection."""
        r = self.predictor.predict_text(phrase, threshold=self.config.det_threshold)
        own = [tr for tr in self.tracks.values() if tr.phrase == phrase]
        taken: set[int] = set()
        placed: set[int] = set()
        for d in np.argsort(-r.scores):
            dm = r.masks[d]
            area = int(dm.sum())
            if area < self.config.min_pixels:
                continue
            best, best_iou = None, self.config.assoc_iou
            for tr in own:
                m = masks.get(tr.obj_id)
                if tr.obj_id in taken or m is None or not m.any():
                    continue
                iou = (m & dm).sum() / max((m | dm).sum(), 1)
                if iou >= best_iou:
                    best, best_iou = tr, iou
            if best is not None:
                taken.add(best.obj_id)
                continue
            covered = sum(int((m & dm).sum()) for m in masks.values())
            if covered > self.config.max_overlap * area:
                continue  # another object (of any phrase) already holds it
            lost = [
                tr
                for tr in own
                if tr.obj_id not in taken
                and not masks.get(tr.obj_id, np.zeros(1, bool)).any()
                and tr.last_box is not None
            ]
            if lost:  # an absent masklet of this phrase comes back under its own id
                dbox = r.boxes[d]
                tr = max(lost, key=lambda o: (_box_iou(o.last_box, dbox), -abs(self.t - o.last_t)))
            elif len(self.tracks) < self.config.max_objects:
                tr = self._track(None, phrase)
                own.append(tr)
            else:
                continue
            taken.add(tr.obj_id)
            probs[tr.obj_id] = dm.astype(np.float32)
            scores[tr.obj_id] = float(max(r.scores[d], 1e-3) * 10.0)
            masks[tr.obj_id] = dm
            placed.add(tr.obj_id)
            if self.mode == "memory":
                self._encode_detection(tr, dm)
        return placed

    def _encode_detection(self, tr: ObjectTrack, m: np.ndarray) -> None:
        """A detection that starts (or brings back) a masklet becomes its conditioning memory."""
        out = self._decode(
            self.predictor._feats,
            torch.zeros(1, dtype=torch.long, device=self._dev()),
            [innermost_point(m)[None]],
            [np.ones(1, np.int64)],
            [self._mask_prompt(m)],
        )
        self._write_memory([tr.obj_id], out, cond=True, masks_hr=[m.astype(np.float32)])

    # ------------------------------------------------------------------------------------------ bookkeeping
    def _resolve(self, probs: dict[int, np.ndarray], exact: set[int]) -> dict[int, np.ndarray]:
        """Masks of this frame: each object's snapped mask (``exact`` ones, given as prompts or detections, as
        they are), a pixel claimed by several going to the most probable. Returns obj id -> bool [H, W]."""
        if not probs:
            return {}
        ids = list(probs)
        stack = np.stack([probs[i] for i in ids])
        snap = [k for k, i in enumerate(ids) if i not in exact]
        snapped = stack > 0.5
        if snap:
            snapped[snap] = self.predictor.finish(stack[snap])
        if len(ids) > 1:
            score = np.where(snapped, stack, -1.0)
            win = np.argmax(score, axis=0)
            snapped &= win[None] == np.arange(len(ids))[:, None, None]
        return {i: snapped[k] for k, i in enumerate(ids)}

    def _update(self, masks: dict[int, np.ndarray], scores: dict[int, float], prompted: set[int]) -> None:
        cfg = self.config
        for i, tr in self.tracks.items():
            m = masks.get(i)
            ok = m is not None and scores.get(i, NO_OBJ_SCORE) > 0 and int(m.sum()) >= cfg.min_pixels
            if ok and not tr.present and i not in prompted and self.mode == "reprompt" and tr.last_area:
                area = int(m.sum())
                others = sum(int((m & o).sum()) for j, o in masks.items() if j != i)
                ratio = max(area, tr.last_area) / max(min(area, tr.last_area), 1)
                ok = ratio <= cfg.recover_area_ratio and others <= cfg.max_overlap * area
            if not ok:
                tr.present, tr.score = False, NO_OBJ_SCORE
                tr.velocity = np.zeros(2, np.float32)
                if m is not None:
                    m[:] = False
                continue
            c = np.argwhere(m).mean(0)[::-1].astype(np.float32)
            if tr.present and tr.last_centroid is not None and tr.last_t == self.t - 1:
                tr.velocity = c - tr.last_centroid
            else:
                tr.velocity = np.zeros(2, np.float32)
            tr.present, tr.score, tr.last_t = True, float(scores[i]), self.t
            tr.best_score = max(tr.best_score, tr.score)
            tr.last_small = self._small(m)
            tr.last_prompt = self._prompt_from_small(tr.last_small)
            tr.last_point = innermost_point(m)
            tr.last_box = _box(m)
            tr.last_area = int(m.sum())
            tr.last_centroid = c


def warp_backward(mask: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """mask float [H, W] of frame t-1, flow_back float32 [2, H, W] (frame t -> t-1) -> float [H, W] on frame t:
    out(x) = mask(x + flow_back(x)), bilinear, 0 outside."""
    import cv2

    h, w = mask.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        mask.astype(np.float32),
        xs + flow_back[0],
        ys + flow_back[1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def _shift(a: np.ndarray, dx: int, dy: int, fill: float) -> np.ndarray:
    """Translate a 2-D array by (dx, dy) cells, filling what enters with ``fill``."""
    if dx == 0 and dy == 0:
        return a
    out = np.full_like(a, fill)
    h, w = a.shape
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return out


def load_memory(name_or_path: str) -> Sam3TrackMemory:
    """``Sam3TrackMemory`` from a .safetensors file (or shipped name) whose metadata holds "name" and "config"."""
    import json

    from segcorr.io.weights import load_weights, read_weights_metadata
    from segcorr.segment.memory import MemoryConfig, build_memory_from_config, memory_config_for

    meta = read_weights_metadata(name_or_path)
    cfg = memory_config_for(
        meta.get("name", "track_tiny") if meta.get("name") in ("track_tiny", "track-test") else "track_tiny"
    )
    if "config" in meta:
        fields = json.loads(meta["config"])
        cfg = MemoryConfig(**{k: v for k, v in fields.items() if k in MemoryConfig.__dataclass_fields__})
    mem = build_memory_from_config(cfg)
    load_weights(mem, name_or_path, strict=True)
    return mem
