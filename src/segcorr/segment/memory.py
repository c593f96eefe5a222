"""The tracker's memory (SAM 2 / SAM 3 tracker): how a frame's mask becomes memory, and how memories condition
the next frame.

Parts, one small module each:
- ``SimpleMaskDownSampler``: mask logits at stride 4 -> the stride-16 grid of the image features, by strided
  convolutions (total stride ``total_stride``, each layer ``stride``; channels grow by stride^2 per layer).
- ``CXBlock`` / ``SimpleFuser``: ConvNeXt blocks fusing the image features with the downsampled mask.
- ``MemoryEncoder``: (image features [B, C, h, w], mask logits [B, 1, 4h, 4w]) -> memory features
  [B, mem_dim, h, w] and their position code.
- ``MemoryAttention`` (``memory_attention.py``): the current frame's features attend to themselves, then to the
  memories (spatial memories + object pointers); optional 2-D RoPE.
- ``Sam3TrackMemory``: the trainable pieces together (encoder, attention, object-pointer projection, temporal
  codes, no-object embeddings) with three calls the tracker uses: ``encode``, ``pointer``, ``condition``.

``MemoryEntry`` is one frame's memory of one object; the tracker keeps them in a bounded FIFO (see
``tracker.py``), never a per-frame dict.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from segcorr.errors import InputError
from segcorr.registry import check_fields
from segcorr.segment.memory_attention import MemoryAttention, MemoryAttentionLayer
from segcorr.segment.model.common import MLP, LayerNorm2d
from segcorr.segment.model.position import PositionEmbeddingSine

SIGMOID_SCALE = 20.0  # SAM 2: masks enter the memory encoder as sigmoid(logits) * 20 - 10 (or binarised)
SIGMOID_BIAS = -10.0


class SimpleMaskDownSampler(nn.Module):
    """masks [B, 1, H, W] -> [B, embed_dim, H / total_stride, W / total_stride] (conv, LayerNorm2d, GELU per layer)."""

    def __init__(
        self, embed_dim: int, kernel_size: int = 3, stride: int = 2, padding: int = 1, total_stride: int = 4
    ) -> None:
        super().__init__()
        num_layers = int(round(math.log(total_stride) / math.log(stride)))
        if stride**num_layers != total_stride:
            raise ValueError(f"total_stride {total_stride} is not a power of stride {stride}")
        layers: list[nn.Module] = []
        c_in = 1
        for _ in range(num_layers):
            c_out = c_in * stride * stride
            layers += [nn.Conv2d(c_in, c_out, kernel_size, stride, padding), LayerNorm2d(c_out), nn.GELU()]
            c_in = c_out
        layers.append(nn.Conv2d(c_in, embed_dim, 1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class CXBlock(nn.Module):
    """ConvNeXt block: depthwise conv, LayerNorm, pointwise MLP (x4), layer scale, residual. [B, C, H, W] in/out."""

    def __init__(self, dim: int, kernel_size: int = 7, layer_scale_init: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = LayerNorm2d(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(y))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class SimpleFuser(nn.Module):
    """``num_layers`` CXBlocks: [B, C, H, W] -> [B, C, H, W]."""

    def __init__(self, dim: int, num_layers: int = 2, kernel_size: int = 7) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(CXBlock(dim, kernel_size) for _ in range(num_layers)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class MemoryEncoder(nn.Module):
    """(pix_feat [B, C, h, w], masks [B, 1, 4h, 4w]) -> (features [B, mem_dim, h, w], pos [1, mem_dim, h, w]).

    ``skip_mask_sigmoid``: the masks are already scaled probabilities (the tracker's path); else logits."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        mask_downsampler: SimpleMaskDownSampler,
        fuser: SimpleFuser,
        position_encoding: PositionEmbeddingSine,
    ) -> None:
        super().__init__()
        self.mask_downsampler = mask_downsampler
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, 1)
        self.fuser = fuser
        self.position_encoding = position_encoding
        self.out_proj = nn.Conv2d(in_dim, out_dim, 1) if out_dim != in_dim else nn.Identity()

    def forward(
        self, pix_feat: torch.Tensor, masks: torch.Tensor, skip_mask_sigmoid: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not skip_mask_sigmoid:
            masks = torch.sigmoid(masks)
        m = self.mask_downsampler(masks.to(pix_feat.dtype))
        if m.shape[-2:] != pix_feat.shape[-2:]:
            m = F.interpolate(m, size=pix_feat.shape[-2:], mode="bilinear", align_corners=False)
        x = self.out_proj(self.fuser(self.pix_feat_proj(pix_feat) + m))
        h, w = x.shape[-2:]
        return x, self.position_encoding(h, w, x.device, x.dtype)[None]


@dataclass
class MemoryEntry:
    """One frame's memory of one object: feat [mem_dim, h, w] (``Sam3TrackMemory.encode``), ptr [C] (its object
    pointer), t (frame index), cond (a prompted frame: kept as conditioning memory, not aged out)."""

    feat: torch.Tensor
    ptr: torch.Tensor
    t: int
    cond: bool = False


@dataclass(frozen=True)
class MemoryConfig:
    """Widths and depths of the tracker memory. ``d_model`` must equal the image model's."""

    d_model: int = 128
    mem_dim: int = 64
    num_maskmem: int = 7
    attn_layers: int = 2
    attn_heads: int = 1
    attn_ffn: int = 512
    rope: bool = True
    fuser_layers: int = 2
    mask_total_stride: int = 4
    mask_prompt: bool = False  # the decoder also gets the object's previous answer as a mask prompt


MEMORY_REGISTRY: dict[str, MemoryConfig] = {
    "track_tiny": MemoryConfig(),
    "track-test": MemoryConfig(d_model=32, mem_dim=16, attn_layers=1, attn_ffn=64, fuser_layers=1),
}


class Sam3TrackMemory(nn.Module):
    """Everything the memory path trains, on top of the image model (which it does not own)."""

    def __init__(
        self, encoder: MemoryEncoder, attention: MemoryAttention, d_model: int, mem_dim: int, num_maskmem: int = 7
    ) -> None:
        super().__init__()
        if d_model % mem_dim:
            raise ValueError(f"d_model {d_model} must be a multiple of mem_dim {mem_dim} (pointers are split)")
        self.encoder = encoder
        self.attention = attention
        self.d_model, self.mem_dim, self.num_maskmem = d_model, mem_dim, num_maskmem
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(num_maskmem, mem_dim))
        nn.init.trunc_normal_(self.maskmem_tpos_enc, std=0.02)
        self.no_mem_embed = nn.Parameter(torch.zeros(d_model))  # zero: a prompted frame starts as the image model
        self.no_obj_ptr = nn.Parameter(torch.zeros(d_model))
        nn.init.trunc_normal_(self.no_obj_ptr, std=0.02)
        self.no_obj_embed_spatial = nn.Parameter(torch.zeros(mem_dim))
        nn.init.trunc_normal_(self.no_obj_embed_spatial, std=0.02)
        self.obj_ptr_proj = MLP(d_model, d_model, d_model, 3)
        self.obj_ptr_tpos_proj = nn.Linear(d_model, mem_dim)
        self.tpos = PositionEmbeddingSine(d_model)

    # -------------------------------------------------------------------------------------- writing
    def encode(
        self,
        pix_feat: torch.Tensor,
        mask_logits: torch.Tensor,
        object_score_logits: torch.Tensor,
        binarize: bool = False,
    ) -> torch.Tensor:
        """pix_feat [P, C, h, w] (the frame's stride-16 features, not memory-conditioned), mask_logits
        [P, 1, 4h, 4w], object_score_logits [P, 1] -> memory features [P, mem_dim, h, w]. Absent objects
        (score <= 0) get the learned no-object embedding added everywhere."""
        m = (mask_logits > 0).to(pix_feat.dtype) if binarize else torch.sigmoid(mask_logits.clamp(-32, 32))
        feat, _ = self.encoder(pix_feat, m * SIGMOID_SCALE + SIGMOID_BIAS, skip_mask_sigmoid=True)
        absent = (object_score_logits <= 0).to(feat.dtype).view(-1, 1, 1, 1)
        return feat + absent * self.no_obj_embed_spatial.view(1, -1, 1, 1)

    def pointer(self, sam_tokens: torch.Tensor, object_score_logits: torch.Tensor) -> torch.Tensor:
        """sam_tokens [P, K, C] (the decoder's chosen output token; first one used), object_score_logits [P, 1]
        -> object pointers [P, C]; absent objects get the learned no-object pointer."""
        ptr = self.obj_ptr_proj(sam_tokens[:, 0])
        appearing = (object_score_logits > 0).to(ptr.dtype)
        return appearing * ptr + (1 - appearing) * self.no_obj_ptr

    # -------------------------------------------------------------------------------------- reading
    def _memory_tokens(
        self, entries: list[MemoryEntry], t: int, mem_pos: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, int, int]:
        """Entries -> (memory [M, mem_dim], pos [M, mem_dim], frames of spatial memory, pointer tokens)."""
        feats, poss, ptrs, ptr_pos = [], [], [], []
        split = self.d_model // self.mem_dim
        pos = mem_pos[0].flatten(1).transpose(0, 1)  # [hw, mem]
        for e in entries:
            back = 0 if e.cond else max(1, min(self.num_maskmem - 1, t - e.t))
            feats.append(e.feat.flatten(1).transpose(0, 1))
            poss.append(pos + self.maskmem_tpos_enc[self.num_maskmem - 1 - back])
            ptrs.append(e.ptr.view(split, self.mem_dim))
            d = torch.tensor(float(abs(t - e.t)) / max(self.num_maskmem - 1, 1), device=e.ptr.device)
            code = self.obj_ptr_tpos_proj(self.tpos.encode_points(d, d).to(e.ptr.dtype))
            ptr_pos.append(code.expand(split, -1))
        mem = torch.cat(feats + ptrs, 0)
        mpos = torch.cat(poss + ptr_pos, 0)
        return mem, mpos, len(entries), split * len(entries)

    def condition(
        self, pix_feat: torch.Tensor, pos: torch.Tensor, banks: list[list[MemoryEntry]], t: int
    ) -> torch.Tensor:
        """pix_feat [C, h, w] (one frame), pos [1, C, h, w], banks: one list of memories per object (may be
        empty: then ``no_mem_embed`` is added, as on a first frame) -> conditioned features [P, C, h, w]."""
        c, h, w = pix_feat.shape
        outs = []
        for entries in banks:
            if not entries:
                outs.append(pix_feat + self.no_mem_embed.view(-1, 1, 1))
                continue
            mem_pos = self.encoder.position_encoding(h, w, pix_feat.device, pix_feat.dtype)[None]
            mem, mpos, frames, n_ptr = self._memory_tokens(entries, t, mem_pos)
            out = self.attention(
                pix_feat[None], pos, mem[None], mpos[None], num_spatial_frames=frames, num_obj_ptr_tokens=n_ptr
            )
            outs.append(out[0])
        return torch.stack(outs) if outs else pix_feat.new_zeros(0, c, h, w)


def memory_config_for(name: str, **overrides) -> MemoryConfig:
    if name not in MEMORY_REGISTRY:
        raise InputError(f"unknown tracker memory {name!r}; expected one of {', '.join(MEMORY_REGISTRY)}")
    check_fields(MemoryConfig, overrides, "option", f"for {name}")
    return dataclasses.replace(MEMORY_REGISTRY[name], **overrides)


def build_memory_from_config(cfg: MemoryConfig) -> Sam3TrackMemory:
    d, m = cfg.d_model, cfg.mem_dim
    encoder = MemoryEncoder(
        d,
        m,
        SimpleMaskDownSampler(d, total_stride=cfg.mask_total_stride),
        SimpleFuser(d, cfg.fuser_layers),
        PositionEmbeddingSine(m),
    )
    layers = [MemoryAttentionLayer(d, m, cfg.attn_heads, cfg.attn_ffn, rope=cfg.rope) for _ in range(cfg.attn_layers)]
    mem = Sam3TrackMemory(encoder, MemoryAttention(d, layers), d, m, cfg.num_maskmem)
    mem.config = cfg
    return mem


def build_memory(name: str = "track_tiny", **overrides) -> Sam3TrackMemory:
    """The tracker memory ``name`` (random init) with ``MemoryConfig`` fields replaced by ``overrides``."""
    return build_memory_from_config(memory_config_for(name, **overrides))
