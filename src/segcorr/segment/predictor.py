"""``Sam3Predictor``: the concept model behind a SAM-style interface.

``set_image(image)`` computes the image embedding once; ``predict(points=, boxes=, mask_input=)`` answers one
object per call and ``predict_text(text)`` every instance of a phrase, both reusing the embedding.

Resize plan (decided in ``set_image``, one place): the longer side is scaled to the model's ``image_size``, the
result padded right and bottom to multiples of 32; prompts are mapped into that frame and masks back to the
original size (bilinear on logits). Masks come out of the decoder at stride 4; with ``refine="snap"`` they are
then snapped to the flat-colour regions of the full-size image (a region whose pixels are mostly inside the mask
joins it, one mostly outside leaves it; line-art pixels keep the mask's own decision), so edges follow the
drawing instead of the 4-pixel grid. The flat segmentation runs at most once per image, at most at
``snap_side`` pixels on the longer side. Click and box answers are snapped with the options of ``prompt_snap``
(``segment.prompt_snap.PromptSnap``: a mean-probability vote for click regions, stricter for regions of another
hue than the clicked one, the share of a region that must lie in a box, the line art around the answer joining
it, and the model's own mask when it rejects the clicked region); text answers and ``finish`` use the plain snap.

Zoom (``zoom``, a ``segment.zoom.ZoomConfig``, on by default): a single-mask answer to points or a box is
answered again in a window around the prompt (for clicks by default one window per decoder output, windows much
like an earlier one skipped), cut from the full-size image and resized to ``image_size`` (one more image embedding
per window; or cut from one finer embedding of the image, see ``segment.zoom``), pasted back, then snapped; one
decoder call on the whole image gives the first answer and the outputs the windows grow from; the window's answer
is the decoder output of highest
predicted IoU, the single-mask output's raised by ``ZoomConfig.point_bonus`` / ``box_bonus``. Multimask answers,
mask-only prompts, ``predict_clicks`` and ``predict_text`` are not zoomed; the returned low-res logits stay those of
the whole image (so they can be fed back as ``mask_input``).

Accepted images: uint8 or uint16, grey [H, W], [H, W, 1], RGB [H, W, 3] or RGBA [H, W, 4] (composited on white);
sides of ``MIN_SIDE`` .. ``MAX_SIDE`` pixels (others raise ``InputError``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from segcorr.errors import InputError
from segcorr.io.image import check_image_array
from segcorr.segment.concept_refine import ConceptConfig, ConceptResult, concept_instances
from segcorr.segment.prompt_snap import PromptSnap
from segcorr.segment.snap import ImageRegions
from segcorr.segment.zoom import ZoomConfig

MIN_SIDE = 16
MAX_SIDE = 8192
MAX_PHRASE_CHARS = 200


def as_rgb_uint8(image: np.ndarray, what: str = "image") -> np.ndarray:
    """uint8/uint16 grey, RGB or RGBA -> uint8 [H, W, 3]; InputError for anything else (see the module docstring)."""
    return check_image_array(image, what, convert=True, sides=(MIN_SIDE, MAX_SIDE))


def check_phrase(text: str) -> str:
    phrase = " ".join(str(text).split())
    if not phrase:
        raise InputError("expected a non-empty text prompt, found an empty one")
    if len(phrase) > MAX_PHRASE_CHARS:
        raise InputError(f"expected a text prompt of at most {MAX_PHRASE_CHARS} characters, found {len(phrase)}")
    return phrase


class Sam3Predictor:
    """SAM-style predictor over ``Sam3Image``. ``refine``: "snap" (default) or "none"; ``snap_side``: the largest
    side at which the flat segmentation for snapping runs; ``zoom``: crop-and-zoom refinement of point and box
    answers (``ZoomConfig(enabled=False)`` turns it off); ``prompt_snap``: how point and box answers are snapped
    (``segment.prompt_snap.PromptSnap``; ``PromptSnap.legacy()`` is the plain snap text answers use)."""

    def __init__(
        self,
        model,
        refine: str = "snap",
        snap_side: int = 1024,
        text_threshold: float = 0.2,
        max_instances: int = 16,
        zoom: ZoomConfig = ZoomConfig(),
        prompt_snap: PromptSnap = PromptSnap(),
        concept: ConceptConfig = ConceptConfig.identity(),
    ) -> None:
        if refine not in ("snap", "none"):
            raise InputError(f"expected refine 'snap' or 'none', found {refine!r}")
        self.model = model.eval()
        self.refine = refine
        self.snap_side = snap_side
        self.text_threshold = text_threshold
        self.max_instances = max_instances
        self.zoom = zoom
        self.prompt_snap = prompt_snap
        self.concept = concept
        self.image_size = int(model.config.image_size)
        self.context_length = int(model.config.context_length)
        self._tokenizer = None
        self.reset_image()

    @classmethod
    def from_pretrained(cls, name_or_path: str = "sam3_tiny", **kwargs) -> Sam3Predictor:
        """The shipped weights by name (``src/segcorr/weights/NAME.safetensors``) or a .safetensors path; the
        architecture comes from the file's metadata (its registry name and config)."""
        import json

        from segcorr.io.weights import load_weights, read_weights_metadata
        from segcorr.segment.model import Sam3Config, build_from_config, config_for

        meta = read_weights_metadata(name_or_path)
        name = meta.get("name", "sam3_tiny")
        cfg = config_for(name) if name in ("sam3_tiny", "sam3-test") else config_for("sam3_tiny")
        if "config" in meta:
            fields = json.loads(meta["config"])
            known = {f for f in Sam3Config.__dataclass_fields__}
            cfg = Sam3Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k in known})
        model = build_from_config(cfg)
        load_weights(model, name_or_path, strict=True)
        return cls(model, **kwargs)

    # ---------------------------------------------------------------------------------------------- image
    def reset_image(self) -> None:
        self._feats = None
        self._fine = None
        self._image = None
        self._regions: ImageRegions | None = None
        self._orig_hw = (0, 0)
        self._scaled_hw = (0, 0)

    @property
    def is_image_set(self) -> bool:
        return self._feats is not None

    # Read-only views of the current image's state (for the tracker and the builtin segmenter). Each raises
    # RuntimeError before ``set_image`` (and after ``reset_image``) rather than returning a placeholder.
    def _need(self, what: str) -> None:
        if self._feats is None:
            raise RuntimeError(f"call set_image(image) before reading {what}")

    @property
    def features(self) -> dict:
        """The image embedding from ``model.encode_image`` (a dict; ``features["inter"][0]`` is the stride-4
        map [1, C, h4, w4] of the padded input)."""
        self._need("features")
        return self._feats

    @property
    def scale(self) -> float:
        """Factor from original pixels to the model's input frame (longer side -> ``image_size``)."""
        self._need("scale")
        return self._scale

    @property
    def scaled_hw(self) -> tuple[int, int]:
        """(height, width) of the resized image inside the padded model input."""
        self._need("scaled_hw")
        return self._scaled_hw

    @property
    def orig_hw(self) -> tuple[int, int]:
        """(height, width) of the image given to ``set_image``."""
        self._need("orig_hw")
        return self._orig_hw

    def _embed(self, img: np.ndarray, side: int | None = None) -> tuple[dict, float, tuple[int, int]]:
        """uint8 [H, W, 3] -> (embedding, scale, (sh, sw)): the longer side resized to ``side`` (default
        ``image_size``), padded right and bottom to multiples of 32, encoded."""
        import cv2

        h, w = img.shape[:2]
        s = (self.image_size if side is None else side) / max(h, w)
        sh, sw = max(1, round(h * s)), max(1, round(w * s))
        small = cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        ph, pw = -(-sh // 32) * 32, -(-sw // 32) * 32
        x = np.zeros((ph, pw, 3), np.uint8)
        x[:sh, :sw] = small
        p = next(self.model.parameters())
        t = torch.from_numpy(x).permute(2, 0, 1)[None].to(device=p.device, dtype=p.dtype) / 255.0
        return self.model.encode_image(t), s, (sh, sw)

    @torch.no_grad()
    def set_image(self, image: np.ndarray) -> None:
        """Compute the image embedding (once per image). image: see the module docstring."""
        img = as_rgb_uint8(image)
        self._feats, s, shw = self._embed(img)
        self._fine = None
        self._image, self._regions = img, ImageRegions(img, self.snap_side)
        self._orig_hw, self._scaled_hw, self._scale = img.shape[:2], shw, s

    def _need_image(self) -> None:
        if self._feats is None:
            raise RuntimeError("call set_image(image) before predict")

    def region_labels(self) -> np.ndarray:
        """Flat-colour regions of the current image, int64 [H, W] (0 = no region, e.g. line art); computed once
        per image at most at ``snap_side`` pixels on the longer side. RuntimeError before ``set_image``."""
        self._need("region_labels")
        return self._regions.labels()

    def region_lines(self) -> np.ndarray:
        """The line art found with ``region_labels`` (bool [H, W]; its pixels are filled into the regions there)."""
        self._need("region_lines")
        return self._regions.lines()

    def to_image(self, logits: torch.Tensor) -> np.ndarray:
        """[N, h4, w4] stride-4 logits of the padded input -> float32 probabilities [N, H, W] at the original size."""
        return _upsample(logits, self._scaled_hw, self._orig_hw)

    def _finish_prompt(
        self, prob: np.ndarray, positive: np.ndarray | None, negative: np.ndarray | None, box: np.ndarray | None
    ) -> np.ndarray:
        """A click or box answer's probabilities [K, H, W] -> bool masks, snapped by ``prompt_snap``."""
        if self.refine != "snap" or not len(prob):
            return prob > 0.5
        return self._regions.snap_prompt(prob, self.prompt_snap, positive, negative, box)

    # ---------------------------------------------------------------------------------------------- prompts
    def _check_xy(self, xy: np.ndarray, what: str) -> None:
        h, w = self._orig_hw
        if not np.isfinite(xy).all():
            raise InputError(f"expected finite {what} coordinates, found {xy.tolist()}")
        if (xy[..., 0] < 0).any() or (xy[..., 1] < 0).any() or (xy[..., 0] > w).any() or (xy[..., 1] > h).any():
            raise InputError(f"{what} {xy.reshape(-1, 2).tolist()} lies outside the {w}x{h} image")

    def _prompt_arrays(
        self,
        point_coords: np.ndarray | None,
        point_labels: np.ndarray | None,
        box: np.ndarray | None,
        mask_input: np.ndarray | None,
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Checked prompts as (coords, labels) lists: the clicks first ([P, 2], labels 0/1), then the box corners
        ([2, 2], labels 2, 3); a single padding point (label -1) when only a mask is given. InputError otherwise."""
        coords, labels = [], []
        if point_coords is not None:
            pc = np.asarray(point_coords, np.float32).reshape(-1, 2)
            pl = np.ones(len(pc), np.int64) if point_labels is None else np.asarray(point_labels).reshape(-1)
            if len(pl) != len(pc):
                raise InputError(f"expected one label per point, found {len(pl)} labels for {len(pc)} points")
            if not np.isin(pl, (0, 1)).all():
                raise InputError(f"expected point labels 0 or 1, found {sorted(set(pl.tolist()))}")
            self._check_xy(pc, "point")
            coords.append(pc)
            labels.append(pl.astype(np.int64))
        if box is not None:
            b = np.asarray(box, np.float32).reshape(-1)
            if b.shape != (4,):
                raise InputError(f"expected a box as 4 numbers x0, y0, x1, y1, found {b.tolist()}")
            if b[2] <= b[0] or b[3] <= b[1]:
                raise InputError(f"expected a box with x1 > x0 and y1 > y0, found {b.tolist()}")
            self._check_xy(b.reshape(2, 2), "box")
            coords.append(b.reshape(2, 2))
            labels.append(np.array([2, 3], np.int64))
        if not coords and mask_input is None:
            raise InputError("expected at least one point, box or mask prompt")
        if not coords:
            coords, labels = [np.zeros((1, 2), np.float32)], [np.array([-1], np.int64)]
        return coords, labels

    def _mask_prompt(
        self, mask_input: np.ndarray | None, dev: torch.device
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """A previous answer's low-res logits [h4, w4] -> (mask [1, 1, h4, w4], has-mask flag [1]); (None, None)
        without one."""
        if mask_input is None:
            return None, None
        m = torch.as_tensor(np.asarray(mask_input, np.float32))
        want = self._feats["inter"][0].shape[-2:]
        if tuple(m.shape[-2:]) != tuple(want):
            raise InputError(
                f"expected mask_input of shape {tuple(want)} (a previous low_res_logits), found {tuple(m.shape)}"
            )
        return m.reshape(1, 1, *want).to(dev), torch.ones(1, dtype=torch.bool, device=dev)

    @torch.no_grad()
    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask_output: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """One object from clicks (point_coords [P, 2] x, y pixels; point_labels [P] 1 = on it, 0 = not on it),
        a box [4] (x0, y0, x1, y1) and/or a previous answer's low-res logits (mask_input [h4, w4]).

        Returns (masks [K, H, W] bool, iou_pred [K], low_res_logits [K, h4, w4], object_score) with K = 3 when
        ``multimask_output`` (sorted by predicted IoU, best first) else 1 (the stability-checked answer)."""
        self._need_image()
        coords, labels = self._prompt_arrays(point_coords, point_labels, box, mask_input)
        xy, lab = np.concatenate(coords), np.concatenate(labels)
        dev = next(self.model.parameters()).device
        m_in, has = self._mask_prompt(mask_input, dev)
        pos = neg = None
        if point_coords is not None:
            pts, pl = coords[0], labels[0]
            pos, neg = pts[pl == 1], pts[pl == 0]
        box_a = None if box is None else np.asarray(box, np.float32).reshape(4)
        zoomed = self.zoom.enabled and not multimask_output and (box_a is not None or (pos is not None and len(pos)))
        if not zoomed:
            logits, iou, obj = self._decode(self._feats, xy * self._scale, lab, m_in, has, multimask_output)
            prob, iou_np = self.to_image(logits), iou.cpu().numpy()
        else:  # one decoder call gives the first answer and, for the answer choice, all four outputs
            all_logits, all_iou, obj, k = self._decode_all(self._feats, xy * self._scale, lab, m_in, has, True)
            logits, iou_np = all_logits[k : k + 1], all_iou[k : k + 1].cpu().numpy()
            if obj > 0:
                from segcorr.segment.zoom import zoom_answer

                firsts = None
                if (box_a is None and self.zoom.point_windows == "all") or (
                    box_a is not None and self.zoom.box_fit > 0
                ):
                    firsts = self.to_image(all_logits), all_iou.float().cpu().numpy()
                    prob = firsts[0][k : k + 1]
                else:
                    prob = self.to_image(logits)
                prob, iou_np = zoom_answer(self, xy, lab, prob, iou_np, box_a, pos, firsts)
            else:
                prob = self.to_image(logits)
        masks = self._finish_prompt(prob, pos, neg, box_a)
        return masks, iou_np, logits.cpu().numpy(), obj

    def _decode(
        self,
        feats: dict,
        xy: np.ndarray,
        lab: np.ndarray,
        m_in: torch.Tensor | None = None,
        has: torch.Tensor | None = None,
        multimask_output: bool = False,
        single_bonus: float | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """One object in one embedding: xy [N, 2] in the embedding's input pixels, lab [N] -> (logits [K, h4, w4],
        iou_pred [K] sorted best first, object score logit). A single answer (not ``multimask_output``) is the
        decoder's stability-checked one, or with ``single_bonus`` the output ``zoom.choose_output`` picks."""
        if single_bonus is not None and not multimask_output:
            from segcorr.segment.zoom import choose_output

            logits, iou, obj = self._decode_all(feats, xy, lab, m_in, has)
            i = choose_output(iou.float().cpu().numpy(), single_bonus)
            return logits[i : i + 1], iou[i : i + 1], obj
        out = self._run_decoder(feats, xy, lab, m_in, has, multimask_output)
        logits, iou = out["masks"][0], out["iou_pred"][0]
        order = torch.argsort(iou, descending=True)
        return logits[order], iou[order], float(out["object_score_logits"][0, 0])

    def _run_decoder(self, feats: dict, xy, lab, m_in, has, multimask_output: bool) -> dict:
        """``model.predict_prompts`` for one object: xy [N, 2], lab [N] (numpy) -> its output dict (batch of 1)."""
        dev = next(self.model.parameters()).device
        return self.model.predict_prompts(
            feats,
            torch.zeros(1, dtype=torch.long, device=dev),
            torch.from_numpy(np.asarray(xy, np.float32))[None].to(dev),
            torch.from_numpy(np.asarray(lab, np.int64))[None].to(dev),
            m_in,
            has,
            multimask_output=multimask_output,
        )

    def _decode_all(
        self,
        feats: dict,
        xy: np.ndarray,
        lab: np.ndarray,
        m_in: torch.Tensor | None = None,
        has: torch.Tensor | None = None,
        with_single: bool = False,
    ) -> tuple:
        """All four decoder outputs for one object (as ``_decode``): (logits [4, h4, w4]: the single-mask output,
        then the three multimask ones, in the decoder's order; iou_pred [4]; object score logit). Masks of an absent
        object (score <= 0) are set to ``NO_OBJ_SCORE``, as ``predict_prompts`` does for the outputs it returns.
        ``with_single`` appends the index (0..3) of the output the decoder answers with when one mask is asked for
        (``MaskDecoder._dynamic_multimask_via_stability`` on the raw logits: 0 when the single-mask output is
        stable, else the multimask output of highest predicted IoU; 0 without that rule)."""
        from segcorr.segment.model import NO_OBJ_SCORE

        out = self._run_decoder(feats, xy, lab, m_in, has, True)
        logits, iou, obj = out["all_masks"][0], out["all_iou"][0], float(out["object_score_logits"][0, 0])
        single = 0
        dec = self.model.mask_decoder
        if with_single and dec.dynamic_multimask_via_stability:
            single = int(dec._dynamic_multimask_via_stability(logits[None], iou[None])[2][0])
        if obj <= 0:
            logits = torch.full_like(logits, NO_OBJ_SCORE)
        return (logits, iou, obj, single) if with_single else (logits, iou, obj)

    @torch.no_grad()
    def _all_outputs(
        self, xy: np.ndarray, lab: np.ndarray, m_in: torch.Tensor | None, has: torch.Tensor | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The whole image's four decoder outputs for one prompt (xy [N, 2] input pixels, lab [N]): the single-mask
        one, then the three multimask ones, as (probabilities float32 [4, H, W] at the original size, iou_pred [4])."""
        logits, iou, _ = self._decode_all(self._feats, xy, lab, m_in, has)
        return self.to_image(logits), iou.float().cpu().numpy()

    @torch.no_grad()
    def predict_clicks(self, points: np.ndarray, chunk: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Many single positive clicks at once (automatic segmentation): points [P, 2] -> for each click its best
        multimask answer by predicted IoU: (probabilities [P, H, W] float32 at the original size, iou_pred [P],
        object score logits [P]). Masks are not snapped here; see ``finish``."""
        self._need_image()
        pts = np.asarray(points, np.float32).reshape(-1, 2)
        self._check_xy(pts, "point")
        dev = next(self.model.parameters()).device
        probs, ious, objs = [], [], []
        for i in range(0, len(pts), chunk):
            c = torch.from_numpy(pts[i : i + chunk] * self._scale)[:, None].to(dev)
            lab = torch.ones(len(c), 1, dtype=torch.long, device=dev)
            out = self.model.predict_prompts(
                self._feats, torch.zeros(len(c), dtype=torch.long, device=dev), c, lab, multimask_output=True
            )
            best = out["iou_pred"].argmax(1)
            rows = torch.arange(len(c), device=dev)
            probs.append(self.to_image(out["masks"][rows, best]))
            ious.append(out["iou_pred"][rows, best].cpu().numpy())
            objs.append(out["object_score_logits"][:, 0].cpu().numpy())
        return np.concatenate(probs), np.concatenate(ious), np.concatenate(objs)

    def finish(self, prob: np.ndarray) -> np.ndarray:
        """Probabilities [N, H, W] -> bool masks, snapped to flat regions (the plain snap) when ``refine`` is
        "snap"."""
        if self.refine == "snap" and len(prob):
            return self._regions.snap(prob)
        return prob > 0.5

    # ---------------------------------------------------------------------------------------------- text
    def _tokens(self, phrases: list[str]) -> torch.Tensor:
        if self._tokenizer is None:
            from segcorr.segment.tokenizer import CLIPTokenizer

            self._tokenizer = CLIPTokenizer(self.context_length)
        return self._tokenizer(phrases, context_length=self.context_length)

    @torch.no_grad()
    def predict_text(self, text: str, threshold: float | None = None) -> ConceptResult:
        """Every instance of ``text`` whose score is at least ``threshold`` (default ``text_threshold``), best first,
        after mask non-maximum suppression. Scores (query x presence probability) and the suppression overlap
        follow ``concept`` (``segment.concept_refine.ConceptConfig``; its ``identity()``, the default here, is the
        model as it is)."""
        self._need_image()
        phrase = check_phrase(text)
        thr = self.text_threshold if threshold is None else float(threshold)
        from segcorr.data.concepts import normalize_phrase

        norm = normalize_phrase(phrase)
        dev = next(self.model.parameters()).device
        tokens = self._tokens([norm]).to(dev)
        out = self.model.predict_concept(self._feats, torch.zeros(1, dtype=torch.long, device=dev), tokens)
        return concept_instances(self, out, thr, text=norm)


def _upsample(logits: torch.Tensor, scaled_hw: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """[N, h4, w4] stride-4 logits of a padded input whose image part is ``scaled_hw`` -> float32 probabilities
    [N, *out_hw] (bilinear on logits)."""
    sh, sw = scaled_hw
    up = F.interpolate(logits[:, None].float(), scale_factor=4, mode="bilinear", align_corners=False)
    up = up[..., :sh, :sw]
    up = F.interpolate(up, size=tuple(out_hw), mode="bilinear", align_corners=False)[:, 0]
    return up.sigmoid().cpu().numpy()
