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

This module holds ``Sam3Tracker``, which composes: ``tracker_config`` (settings), ``tracker_state`` (prompts,
per-object state and memory bank, frame results), ``tracker_prompts`` (prompt checks, mask prompts, batched decoder
calls), ``tracker_reprompt`` and ``tracker_memory_mode`` (the two propagation modes), ``tracker_regions`` (region
propagation) and ``tracker_reentry`` (an object's own colours: exits, re-entries anywhere in the frame, growth),
``tracker_text`` (association of text detections) and ``tracker_masks`` (pure mask helpers). Their public names
are importable from here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from segcorr.errors import InputError
from segcorr.segment.memory import Sam3TrackMemory
from segcorr.segment.model.sam3 import NO_OBJ_SCORE
from segcorr.segment.predictor import Sam3Predictor, as_rgb_uint8, check_phrase
from segcorr.segment.tracker_config import MAX_ID, MODES, MOTIONS, TrackerConfig
from segcorr.segment.tracker_masks import (
    edge_sliver,
    edge_touch,
    innermost_point,
    mask_box,
    resolve_masks,
    warp_backward,
)
from segcorr.segment.tracker_memory_mode import MemoryPropagator, load_memory
from segcorr.segment.tracker_prompts import PromptCoder, check_prompt
from segcorr.segment.tracker_reentry import ReentryRule, distinct_share, reenter
from segcorr.segment.tracker_regions import RegionPropagator, fill_lines, mask_motion
from segcorr.segment.tracker_reprompt import Reprompter
from segcorr.segment.tracker_state import FrameResult, ObjectPrompt, ObjectTrack
from segcorr.segment.tracker_text import match_detections

__all__ = [
    "MAX_ID",
    "MODES",
    "MOTIONS",
    "FrameResult",
    "ObjectPrompt",
    "ObjectTrack",
    "Sam3Tracker",
    "TrackerConfig",
    "innermost_point",
    "load_memory",
    "warp_backward",
]


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
        self._coder = PromptCoder(predictor, config.mask_logit_scale)
        self._reprompter = Reprompter(self._coder, config)
        self._regions = RegionPropagator(
            config.palette_tol,
            config.palette_share_in,
            config.palette_share_out,
            config.edge_entering,
            config.occlusion,
        )
        self._memory_mode = MemoryPropagator(self._coder, self.memory) if self.memory is not None else None
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
        self._reprompter.reset()
        self._regions.reset()
        self._flow: np.ndarray | None = None
        self._full_flow: np.ndarray | None = None
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
        self.predictor.set_image(img)
        t = self.t
        self._set_flow(img)
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
                self._memory_mode.propagate(others, self.t, probs, scores)
            else:
                self._propagate_reprompt(others, probs, scores)
        exact = {i for i, pr in prompted.items() if pr.mask is not None}
        if self._full_flow is not None and others:
            exact |= self._propagate_regions(others, probs, scores)
        masks = resolve_masks(probs, exact, self.predictor.finish)
        due = [ph for ph, t0 in self.phrases.items() if t == t0 or (t - t0) % self.config.detect_every == 0]
        for ph in due:
            exact |= self._detect(ph, masks, probs, scores)
        if due:
            masks = resolve_masks(probs, exact, self.predictor.finish)
        back = self._reenter(masks, scores, set(prompted))
        self._update(masks, scores, set(prompted), back)
        self.t += 1
        if self.config.line_fill > 0 and self._regions.ready:
            present = {i: m for i, m in masks.items() if i in self.tracks and self.tracks[i].present}
            masks = {**masks, **fill_lines(present, self._regions.frame[0], self.config.line_fill)}
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
    def _set_flow(self, img: np.ndarray) -> None:
        """This frame's flows back to the previous frame: ``_flow`` at the model's working size (for reprompts),
        ``_full_flow`` at full size (motion "regions"); None where unused or on the first frame."""
        self._flow = self._full_flow = None
        motion = self.config.motion
        if self.mode != "reprompt" or motion not in ("flow", "regions"):
            return
        if motion == "flow":
            self._flow = self._flow_back(img)
            return
        import cv2

        p = self.predictor
        self._full_flow = self._regions.next_frame(img, p.region_labels(), p.region_lines())
        if self._full_flow is not None:
            sh, sw = p.scaled_hw
            f = self._full_flow.transpose(1, 2, 0)
            small = cv2.resize(f, (sw, sh), interpolation=cv2.INTER_AREA) * np.float32(p.scale)
            self._flow = np.ascontiguousarray(small.transpose(2, 0, 1))

    def _propagate_regions(self, tracks: list[ObjectTrack], probs: dict, scores: dict) -> set[int]:
        """Motion "regions": each object present on the previous frame gets its region-propagated mask as this
        frame's answer (kept as it is), unless the model declares it absent (``presence="model"``). Returns the
        ids so answered."""
        done = set()
        near = self._near_others()
        for tr in tracks:
            i = tr.obj_id
            if not (tr.present and tr.last_t == self.t - 1 and tr.last_mask is not None):
                continue
            if self.config.presence == "model" and scores.get(i, NO_OBJ_SCORE) <= 0:
                continue
            motion = tr.edge_motion if self.config.edge_motion else None
            prob, m = self._regions.propagate(tr.last_mask, self._full_flow, tr.palette, motion, near.get(i))
            seen = mask_motion(m, self._full_flow)
            tr.edge_motion = seen if seen is not None else tr.edge_motion
            probs[i] = np.where(m, np.maximum(prob, 0.51), 0.0).astype(np.float32)
            if self.config.presence == "flow":
                scores[i] = max(scores.get(i, NO_OBJ_SCORE), 1.0)
            done.add(i)
        return done

    def _near_others(self) -> dict[int, np.ndarray]:
        """``occlusion``: for each object present on the previous frame, the pixels within ``occlusion_band`` of
        another such object's last mask (bool [H, W]): where one hides or reveals another, pixels failing the
        forward-backward check are no evidence. Empty without ``occlusion`` or with fewer than two objects."""
        import cv2

        cfg = self.config
        last = {i: tr.last_mask for i, tr in self.tracks.items() if tr.present and tr.last_mask is not None}
        if cfg.occlusion <= 0 or len(last) < 2:
            return {}
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * cfg.occlusion_band + 1,) * 2)
        grown = {i: cv2.dilate(m.astype(np.uint8), k) > 0 for i, m in last.items()}
        out = {}
        for i in last:
            out[i] = np.logical_or.reduce([g for j, g in grown.items() if j != i])
        return out

    def _reenter(self, masks: dict[int, np.ndarray], scores: dict[int, float], prompted: set[int]) -> set[int]:
        """Absent objects found again anywhere on this frame by their colours (``tracker_reentry``); returns their
        ids (their masks and scores are set)."""
        cfg = self.config
        if cfg.reentry == "none" or self.mode != "reprompt" or not self._regions.ready:
            return set()
        rule = ReentryRule(
            tol=cfg.palette_tol,
            min_distinct=cfg.reentry_distinct,
            min_area=cfg.reentry_min_area,
            max_area=cfg.recover_area_ratio,
            min_pixels=max(cfg.min_pixels, 24),
            grow_below=cfg.reentry_grow,
            grow_to=cfg.reentry_grow,
            grow_band=cfg.reentry_band,
            region_cap=cfg.reentry_region_cap,
            refind_below=cfg.refind_below,
            edge_shared=cfg.reentry_edge_shared,
        )
        return reenter(self.tracks, self._regions.frame, masks, scores, prompted, rule, cfg.reentry_model)

    def _flow_back(self, img: np.ndarray) -> np.ndarray | None:
        """Flow from frame ``img`` back to the previous one at the model's working size, or None (first frame)."""
        return self._reprompter.flow_back(img)

    def _reprompt_inputs(
        self, tr: ObjectTrack, flow: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Reprompt of one object on this frame (see ``Reprompter.inputs``)."""
        return self._reprompter.inputs(tr, flow, self.t, self._hw)

    def _propagate_reprompt(self, tracks: list[ObjectTrack], probs: dict, scores: dict) -> None:
        self._reprompter.propagate(tracks, self._flow, self.t, self._hw, probs, scores)

    def _answer_prompts(self, prompted: dict[int, ObjectPrompt], probs: dict, scores: dict) -> None:
        """Decode the objects prompted on this frame; a mask prompt is its own answer (the decoder still runs,
        for the memory). Corrective clicks on a present object build on its last mask (SAM 2)."""
        ids = list(prompted)
        coords, labels, mask_in = [], [], []
        for i in ids:
            pr, tr = prompted[i], self.tracks[i]
            c, lab = check_prompt(pr, tr.obj_id, self._hw, self.t)
            if pr.mask is not None and np.asarray(pr.mask).any():
                m = np.asarray(pr.mask, bool)
                if not len(c):  # a click at its heart gives the decoder (and the object pointer) an anchor
                    c, lab = innermost_point(m)[None], np.ones(1, np.int64)
                mask_in.append(self._coder.mask_prompt(m))
            else:
                mask_in.append(tr.last_prompt if tr.present and pr.mask is None else None)
            coords.append(c)
            labels.append(lab)
        out = self._coder.decode_image(coords, labels, mask_in)
        pr_probs, obj = self._coder.answers(out)
        for k, i in enumerate(ids):
            pr = prompted[i]
            if pr.mask is not None:
                m = np.asarray(pr.mask, bool)
                probs[i], scores[i] = m.astype(np.float32), max(float(obj[k]), 1.0) if m.any() else NO_OBJ_SCORE
            else:
                probs[i], scores[i] = pr_probs[k], float(obj[k])
        if self.mode == "memory":
            tracks = [self.tracks[i] for i in ids]
            self._memory_mode.write(tracks, out, cond=True, t=self.t, masks_hr=[probs[i] for i in ids])

    # ------------------------------------------------------------------------------------------ text
    def _detect(self, phrase: str, masks: dict[int, np.ndarray], probs: dict, scores: dict) -> set[int]:
        """Detect ``phrase``; match detections to its masklets; start or bring back masklets. Returns the ids
        whose mask on this frame is now a detection."""
        r = self.predictor.predict_text(phrase, threshold=self.config.det_threshold)
        own = [tr for tr in self.tracks.values() if tr.phrase == phrase]

        def new_track() -> ObjectTrack | None:
            return self._track(None, phrase) if len(self.tracks) < self.config.max_objects else None

        placed = match_detections(r, own, masks, self.t, self.config, new_track)
        for tr, d in placed:
            probs[tr.obj_id] = r.masks[d].astype(np.float32)
            scores[tr.obj_id] = float(max(r.scores[d], 1e-3) * 10.0)
            if self.mode == "memory":
                self._memory_mode.encode_detection(tr, r.masks[d], self.t)
        return {tr.obj_id for tr, _ in placed}

    # ------------------------------------------------------------------------------------------ bookkeeping
    def _leaving(self, tr: ObjectTrack, m: np.ndarray, touch: bool = True) -> bool:
        """Whether ``m`` (bool [H, W]) is a present object's sliver at the frame edge (``exit_edge_band``), or (with
        ``touch``) a mask touching the frame edge along ``exit_edge_touch`` pixels, that has shrunk below
        ``exit_edge_shrink`` of its mask on the previous frame: an object leaving the frame. Its colours are no
        evidence (the last slivers blend into their neighbours), so the exit check spares it; a sliver also keeps
        the last good state (what a recovery starts from) of its last full view, while a mask reaching further in
        updates it as usual (``_update`` asks without ``touch``: a recovery starts from where it was last seen)."""
        cfg = self.config
        if not tr.present or cfg.exit_edge_band <= 0:
            return False
        last = np.count_nonzero(tr.last_mask) if tr.last_mask is not None else tr.last_area
        if np.count_nonzero(m) >= cfg.exit_edge_shrink * last:
            return False
        at_edge = touch and cfg.exit_edge_touch > 0 and edge_touch(m) >= cfg.exit_edge_touch
        return bool(at_edge or edge_sliver(m, cfg.exit_edge_band))

    def _plausible(self, tr: ObjectTrack, m: np.ndarray, masks: dict[int, np.ndarray]) -> bool:
        """Whether reprompt mode's answer ``m`` (bool [H, W], not empty) for an object not prompted on this frame
        stands. With region propagation, at least ``exit_distinct`` of its region pixels must be in its own colours
        (``tracker_reentry.distinct_share``; a mask left on look-alike background when it leaves fails) when at
        least ``exit_own`` of its prompted ones were (a leaving sliver, ``_leaving``, is spared); an absent object
        comes back only with a plausible area (any smaller one for a sliver at the frame edge, ``exit_edge_band``: an
        object coming back into view), overlap and colours."""
        cfg = self.config
        checked = tr.distinct is not None and tr.own_share >= cfg.exit_own and not self._leaving(tr, m)
        if cfg.exit_distinct > 0 and self._regions.ready and checked:
            lab, mean, _ = self._regions.frame
            if distinct_share(m, lab, mean, tr.palette, tr.distinct, cfg.palette_tol) < cfg.exit_distinct:
                return False
        if tr.present or not tr.last_area:
            return True
        area = int(m.sum())
        others = sum(int((m & o).sum()) for j, o in masks.items() if o is not m)
        ratio = max(area, tr.last_area) / max(min(area, tr.last_area), 1)
        entering = area < tr.last_area and edge_sliver(m, cfg.exit_edge_band)  # only part of it is in view yet
        ok = (ratio <= cfg.recover_area_ratio or entering) and others <= cfg.max_overlap * area
        if ok and self._regions.ready:
            ok = self._regions.colour_share(m, tr.palette) >= cfg.recover_colour
        return ok

    def _update(
        self, masks: dict[int, np.ndarray], scores: dict[int, float], prompted: set[int], back: set[int] = frozenset()
    ) -> None:
        """Each object's state after this frame: present with its new last mask, or absent (its mask emptied,
        its last good state kept). A reprompted absent object comes back only with a plausible area and overlap;
        one found again by its colours (``back``) has passed its own checks."""
        cfg = self.config
        for i, tr in self.tracks.items():
            m = masks.get(i)
            ok = m is not None and scores.get(i, NO_OBJ_SCORE) > 0 and int(m.sum()) >= cfg.min_pixels
            if ok and i not in prompted | back and self.mode == "reprompt":
                ok = self._plausible(tr, m, masks)
            if not ok:
                tr.present, tr.score, tr.edge_motion = False, NO_OBJ_SCORE, None
                tr.velocity = np.zeros(2, np.float32)
                if m is not None:
                    m[:] = False
                continue
            leaving = i not in prompted | back and self._leaving(tr, m, touch=False)
            moved = tr.present and tr.last_centroid is not None and tr.last_t == self.t - 1
            tr.present, tr.score, tr.last_t = True, float(scores[i]), self.t
            tr.best_score = max(tr.best_score, tr.score)
            if leaving and self._regions.ready:
                tr.last_mask = m.copy()  # propagation goes on; the last full view stays for a recovery
                continue
            c = np.argwhere(m).mean(0)[::-1].astype(np.float32)
            if moved:
                tr.velocity = c - tr.last_centroid
            else:
                tr.velocity = np.zeros(2, np.float32)
            tr.last_small = self._coder.small(m)
            tr.last_prompt = self._coder.prompt_from_small(tr.last_small)
            tr.last_point = innermost_point(m)
            tr.last_box = mask_box(m)
            tr.last_area = int(m.sum())
            tr.last_centroid = c
            if self._regions.ready:
                tr.last_mask = m.copy()
                if tr.palette is None or i in prompted:
                    tr.palette = self._regions.palette(m)
                    tr.distinct = self._regions.own_colours(m, tr.palette)
                    tr.ref_area = int(m.sum())
                    lab, mean, _ = self._regions.frame
                    tr.own_share = distinct_share(m, lab, mean, tr.palette, tr.distinct, self.config.palette_tol)
