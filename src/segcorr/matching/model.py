"""AS-Mamba: encoder -> joint Mamba initializer -> N AS-Mamba blocks -> coarse matching -> fine refinement.

``ASMamba.forward(data, threshold=None, return_conf=False, max_matches=None) -> dict``. Input ``data``:
    image0 [B, 1, H0, W0], image1 [B, 1, H1, W1] float in 0..1; H, W multiples of 32 (the images may differ);
    optional mask0 [B, H0, W0], mask1 [B, H1, W1] bool (True = real pixel, False = padding);
    optional GT (training): corr01 [B, 2, H0, W0], valid01 [B, H0, W0], corr10, valid10 (``supervision.py``).
Output (M coarse matches over the batch; pixel centres at integer coordinates, (x, y) in input pixels):
    mkpts0_c, mkpts1_c [M, 2] coarse cell centres; mconf [M]; m_bids [M] batch index; b_ids, i_ids, j_ids [M]
        (i, j row-major cell indices on the 1/8 grids);
    mkpts0_f, mkpts1_f [M, 2] after sub-pixel refinement (mkpts0_f = mkpts0_c, as LoFTR);
    hw0_c, hw1_c: (h, w) of the 1/8 grids;
    conf_matrix [B, N0, N1] dual-softmax confidence (with gradients; without, when ``return_conf`` and
        N0*N1 <= max_dense_pairs);
    phi0 / phi1: list per block of [B, h, w, 4] flow (x, y in the other image's coarse grid, log-variances);
    match_logits0 / match_logits1: list (initializer, then each block) of [B, h, w] matchability logits;
    expec_f [Mf, 3], fine_b_ids / fine_i_ids / fine_j_ids [Mf], fine_centre1 [Mf, 2], fine_is_gt [Mf] bool,
        fine_radius (float): the fine predictions (in training with GT: first at GT pairs, then at the matches);
    spv_* (training with GT): the ground truth of ``coarse_supervision``, reused by the loss.

``ASMamba.forward_dense(image0, image1)`` gives fixed-shape tensors for ONNX export (see its docstring).
"""

from __future__ import annotations

import torch
from torch import nn

from segcorr.errors import InputError
from segcorr.matching.block import ASMambaBlock
from segcorr.matching.coarse import CoarseMatcher
from segcorr.matching.common import Pointwise
from segcorr.matching.config import ASMambaConfig
from segcorr.matching.encoder import Encoder
from segcorr.matching.fine import FineMatcher
from segcorr.matching.initializer import Initializer
from segcorr.matching.mamba import Mamba
from segcorr.matching.supervision import batch_supervision

SCALE = 8
DENSE_OUTPUTS = ("conf_matrix", "mconf", "mkpts0", "mkpts1")


class ASMamba(nn.Module):
    """Composes the parts (built by ``from_config``; tests may assemble their own)."""

    def __init__(
        self,
        encoder: Encoder,
        initializer: Initializer,
        blocks: list[ASMambaBlock],
        coarse: CoarseMatcher,
        fine: FineMatcher,
        c_geom: int,
        config: ASMambaConfig | None = None,
        max_train_fine: int = 1024,
    ) -> None:
        super().__init__()
        self.config = config
        self.encoder, self.initializer, self.coarse, self.fine = encoder, initializer, coarse, fine
        self.blocks = nn.ModuleList(blocks)
        self.init_logit = Pointwise(c_geom, 1)
        self.max_train_fine = max_train_fine

    @classmethod
    def from_config(cls, cfg: ASMambaConfig) -> ASMamba:
        be = cfg.scan_backend
        blocks = [
            ASMambaBlock(
                cfg.c_match,
                cfg.c_geom,
                cfg.c_local,
                cfg.local_heads,
                cfg.span_points,
                cfg.radius_scale,
                cfg.max_span,
                cfg.flow_head,
                cfg.flow_hidden,
                cfg.num_basis,
                cfg.global_depth,
                4,
                cfg.d_state,
                cfg.local_d_state,
                cfg.expand,
                cfg.local_expand,
                cfg.scan_order,
                cfg.geom_feedback,
                cfg.merge_hidden,
                be,
            )
            for _ in range(cfg.n_blocks)
        ]
        return cls(
            Encoder(cfg.c_enc, cfg.c_fine, cfg.enc_dims, cfg.enc_depths, cfg.enc_mlp_ratio),
            Initializer(
                cfg.c_enc,
                cfg.c_match,
                cfg.c_geom,
                cfg.init_depth,
                cfg.d_state,
                cfg.expand,
                cfg.scan_order,
                cfg.heads,
                be,
                cfg.glu_hidden,
            ),
            blocks,
            CoarseMatcher(cfg.temperature, cfg.match_threshold, cfg.chunk_rows, cfg.max_dense_pairs),
            FineMatcher(cfg.c_fine, cfg.c_match, cfg.fine_window),
            cfg.c_geom,
            cfg,
            cfg.max_train_fine,
        )

    def set_scan_backend(self, backend: str) -> ASMamba:
        """Switch every Mamba mixer to ``sequential`` or ``parallel`` (same results; see selective_scan.py)."""
        for m in self.modules():
            if isinstance(m, Mamba):
                m.set_backend(backend)
        return self

    @staticmethod
    def _check(image0: torch.Tensor, image1: torch.Tensor) -> None:
        for name, img in (("image0", image0), ("image1", image1)):
            if img.ndim != 4 or img.shape[1] != 1:
                raise InputError(f"{name}: expected a [B, 1, H, W] grey batch, found shape {tuple(img.shape)}")
            if img.shape[2] % 32 or img.shape[3] % 32 or img.shape[2] < 32 or img.shape[3] < 32:
                raise InputError(
                    f"{name}: expected H and W multiples of 32, found {tuple(img.shape[2:])} "
                    "(MatchPredictor resizes and pads)"
                )
        if image0.shape[0] != image1.shape[0]:
            raise InputError(f"image0 and image1: batch sizes differ ({image0.shape[0]} vs {image1.shape[0]})")

    def features(self, image0: torch.Tensor, image1: torch.Tensor) -> dict:
        """Encoder, initializer and blocks: final F_match m0/m1, fine maps ff0/ff1, and the per-block outputs."""
        if image0.shape == image1.shape:
            c, f = self.encoder(torch.cat([image0, image1], 0))
            n = image0.shape[0]
            c0, c1, ff0, ff1 = c[:n], c[n:], f[:n], f[n:]
        else:
            (c0, ff0), (c1, ff1) = self.encoder(image0), self.encoder(image1)
        m0, m1, g0, g1 = self.initializer(c0, c1)
        logits0, logits1 = [self.init_logit(g0)[:, 0]], [self.init_logit(g1)[:, 0]]
        phi0, phi1 = [], []
        for block in self.blocks:
            o = block(m0, m1, g0, g1)
            m0, m1, g0, g1 = o["m0"], o["m1"], o["g0"], o["g1"]
            phi0.append(o["phi0"])
            phi1.append(o["phi1"])
            logits0.append(o["logit0"])
            logits1.append(o["logit1"])
        return {
            "m0": m0,
            "m1": m1,
            "ff0": ff0,
            "ff1": ff1,
            "phi0": phi0,
            "phi1": phi1,
            "match_logits0": logits0,
            "match_logits1": logits1,
        }

    @staticmethod
    def _cell_mask(mask: torch.Tensor | None) -> torch.Tensor | None:
        return None if mask is None else mask[:, SCALE // 2 - 1 :: SCALE, SCALE // 2 - 1 :: SCALE].bool()

    def _train_pairs(self, spv: dict):
        b, i, j = spv["spv_b_ids"], spv["spv_i_ids"], spv["spv_j_ids"]
        if len(b) > self.max_train_fine:  # evenly spread subset: deterministic, covers the whole batch
            keep = torch.linspace(0, len(b) - 1, self.max_train_fine, device=b.device).round().long()
            b, i, j = b[keep], i[keep], j[keep]
        return b, i, j

    def forward(
        self, data: dict, threshold: float | None = None, return_conf: bool = False, max_matches: int | None = None
    ) -> dict:
        """``max_matches`` (inference only): at most this many coarse matches over the batch, the most confident,
        go on to the fine stage (in their original order); the rest are dropped before it costs anything."""
        image0, image1 = data["image0"], data["image1"]
        self._check(image0, image1)
        feats = self.features(image0, image1)
        m0, m1 = feats["m0"], feats["m1"]
        hw0, hw1 = tuple(m0.shape[2:]), tuple(m1.shape[2:])
        out = {"hw0_c": hw0, "hw1_c": hw1, **{k: feats[k] for k in ("phi0", "phi1", "match_logits0", "match_logits1")}}
        out.update(
            self.coarse(
                m0,
                m1,
                self._cell_mask(data.get("mask0")),
                self._cell_mask(data.get("mask1")),
                threshold,
                return_conf=return_conf,
            )
        )
        if max_matches is not None and not self.training and len(out["mconf"]) > max_matches:
            keep = torch.topk(out["mconf"], max_matches, sorted=False).indices.sort().values
            out.update({k: out[k][keep] for k in ("b_ids", "i_ids", "j_ids", "mconf")})
        b, i, j = out["b_ids"], out["i_ids"], out["j_ids"]
        n_gt = 0
        if self.training and "corr01" in data:
            spv = batch_supervision(data, SCALE)
            out.update(spv)
            gb, gi, gj = self._train_pairs(spv)
            n_gt = len(gb)
            b, i, j = torch.cat([gb, b]), torch.cat([gi, i]), torch.cat([gj, j])
        fine = self.fine(feats["ff0"], feats["ff1"], m0, m1, b, i, j)
        is_gt = torch.zeros(len(b), dtype=torch.bool, device=b.device)
        is_gt[:n_gt] = True
        w0, w1 = hw0[1], hw1[1]
        xy0 = torch.stack([out["i_ids"] % w0, torch.div(out["i_ids"], w0, rounding_mode="floor")], -1)
        xy1 = torch.stack([out["j_ids"] % w1, torch.div(out["j_ids"], w1, rounding_mode="floor")], -1)
        dt = fine["expec_f"].dtype
        out.update(
            m_bids=out["b_ids"],
            mkpts0_c=xy0.to(dt) * SCALE + (SCALE - 1) / 2,
            mkpts1_c=xy1.to(dt) * SCALE + (SCALE - 1) / 2,
            mkpts0_f=fine["mkpts0_f"][n_gt:],
            mkpts1_f=fine["mkpts1_f"][n_gt:],
            expec_f=fine["expec_f"],
            fine_b_ids=b,
            fine_i_ids=i,
            fine_j_ids=j,
            fine_centre1=fine["centre1"],
            fine_is_gt=is_gt,
            fine_radius=self.fine.radius_px,
        )
        return out

    def forward_dense(self, image0: torch.Tensor, image1: torch.Tensor):
        """Fixed-shape outputs for ONNX export (the number of matches of ``forward`` depends on the data).

        Every cell i of image 0 is paired with its best cell j of image 1 and refined. Returns the tuple
        ``DENSE_OUTPUTS``: conf_matrix [B, N0, N1]; mconf [B, N0], the confidence of the pair when it is a mutual
        nearest neighbour, else 0 (threshold it to get ``forward``'s matches); mkpts0 [B, N0, 2] and
        mkpts1 [B, N0, 2] (fine positions, input pixels). Export with the parallel scan backend
        (``set_scan_backend("parallel")``) at a fixed input size, e.g.
        ``torch.onnx.export(Wrapper(model), (img0, img1), path, dynamo=False, opset_version=17,
        output_names=list(DENSE_OUTPUTS))`` where Wrapper.forward calls ``forward_dense``.
        """
        self._check(image0, image1)
        feats = self.features(image0, image1)
        m0, m1 = feats["m0"], feats["m1"]
        bsz, n0 = int(m0.shape[0]), int(m0.shape[2]) * int(m0.shape[3])
        conf = self.coarse.conf_matrix(m0.flatten(2).transpose(1, 2), m1.flatten(2).transpose(1, 2))
        best, j = conf.max(2)
        col_arg = conf.argmax(1)
        ii = torch.arange(n0, device=conf.device).expand(bsz, n0)
        mconf = best * (torch.gather(col_arg, 1, j) == ii).to(best.dtype)
        b_ids = torch.arange(bsz, device=conf.device).repeat_interleave(n0)
        fine = self.fine(feats["ff0"], feats["ff1"], m0, m1, b_ids, ii.reshape(-1), j.reshape(-1))
        return conf, mconf, fine["mkpts0_f"].reshape(bsz, n0, 2), fine["mkpts1_f"].reshape(bsz, n0, 2)
