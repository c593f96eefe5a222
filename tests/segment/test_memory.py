"""Tracker memory modules: shapes, the no-object paths, RoPE on memory keys, and that every part trains."""

from __future__ import annotations

import pytest
import torch

from segcorr.errors import InputError
from segcorr.segment.memory import (
    CXBlock,
    MemoryEntry,
    SimpleFuser,
    SimpleMaskDownSampler,
    build_memory,
    memory_config_for,
)
from segcorr.segment.memory_attention import MemoryAttention, MemoryAttentionLayer, _KeyRope
from segcorr.segment.model.position import Rope2d

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("total, stride", [(4, 2), (16, 4), (16, 2)])
def test_mask_downsampler_reaches_the_feature_grid(total, stride):
    ds = SimpleMaskDownSampler(8, stride=stride, total_stride=total, padding=1, kernel_size=3)
    out = ds(torch.randn(2, 1, 64, 96))
    assert out.shape == (2, 8, 64 // total, 96 // total)


def test_mask_downsampler_rejects_a_stride_that_does_not_compose():
    with pytest.raises(ValueError, match="power"):
        SimpleMaskDownSampler(8, stride=3, total_stride=4)


def test_cx_block_starts_near_identity_and_fuser_keeps_shape():
    x = torch.randn(1, 8, 5, 7)
    assert torch.allclose(CXBlock(8)(x), x, atol=1e-4)  # layer scale 1e-6: a fresh block barely changes x
    assert SimpleFuser(8, 3)(x).shape == x.shape


def test_encode_marks_absent_objects_with_the_no_object_embedding():
    torch.manual_seed(0)
    mem = build_memory("track-test").eval()
    f = torch.randn(1, 32, 4, 6)
    logits = torch.randn(1, 1, 16, 24)
    present = mem.encode(f, logits, torch.tensor([[2.0]]))
    absent = mem.encode(f, logits, torch.tensor([[-2.0]]))
    assert present.shape == (1, 16, 4, 6)
    diff = absent - present
    assert torch.allclose(diff, mem.no_obj_embed_spatial.view(1, -1, 1, 1).expand_as(diff), atol=1e-6)


def test_pointer_is_the_no_object_pointer_when_absent():
    mem = build_memory("track-test").eval()
    tok = torch.randn(2, 1, 32)
    ptr = mem.pointer(tok, torch.tensor([[1.0], [-1.0]]))
    assert ptr.shape == (2, 32)
    assert torch.allclose(ptr[1], mem.no_obj_ptr) and not torch.allclose(ptr[0], mem.no_obj_ptr)


def test_condition_without_memories_adds_the_zero_initialised_no_memory_embedding():
    mem = build_memory("track-test").eval()
    f = torch.randn(32, 4, 6)
    out = mem.condition(f, torch.randn(1, 32, 4, 6), [[]], t=0)
    assert torch.equal(out[0], f)  # a fresh tracker's prompted frame is exactly the image model's


def test_condition_reads_memories_and_depends_on_them():
    torch.manual_seed(0)
    mem = build_memory("track-test").eval()
    f, pos = torch.randn(32, 4, 6), torch.randn(1, 32, 4, 6)
    e1 = MemoryEntry(torch.randn(16, 4, 6), torch.randn(32), t=0, cond=True)
    e2 = MemoryEntry(torch.randn(16, 4, 6), torch.randn(32), t=4)
    e3 = MemoryEntry(torch.randn(16, 4, 6), torch.randn(32), t=4)
    out = mem.condition(f, pos, [[e1, e2], [e1, e3]], t=5)
    assert out.shape == (2, 32, 4, 6)
    assert not torch.allclose(out[0], out[1])  # a different recent memory changes the answer


def test_key_rope_rotates_spatial_keys_and_leaves_pointer_tokens_alone():
    r = Rope2d(8, 2, 3, torch.device("cpu"))
    kr = _KeyRope(r, frames=2)
    x = torch.randn(1, 1, 2 * 6 + 3, 8)
    y = kr(x)
    assert torch.equal(y[..., 12:, :], x[..., 12:, :])
    assert torch.allclose(y[..., :6, :], r(x[..., :6, :])) and torch.allclose(y[..., 6:12, :], r(x[..., 6:12, :]))
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-5)  # a rotation keeps lengths


@pytest.mark.parametrize("rope", [True, False])
def test_memory_attention_shapes_and_token_count_check(rope):
    att = MemoryAttention(16, [MemoryAttentionLayer(16, 8, heads=2, ffn=32, rope=rope)])
    curr, pos = torch.randn(2, 16, 3, 4), torch.randn(1, 16, 3, 4)
    mem = torch.randn(2, 2 * 12 + 4, 8)
    assert att(curr, pos, mem, torch.randn_like(mem), num_spatial_frames=2, num_obj_ptr_tokens=4).shape == curr.shape
    with pytest.raises(ValueError, match="memory tokens"):
        att(curr, pos, mem, mem, num_spatial_frames=3, num_obj_ptr_tokens=4)


def test_rope_option_changes_the_answer():
    torch.manual_seed(0)
    a = build_memory("track-test", rope=True).eval()
    b = build_memory("track-test", rope=False).eval()
    b.load_state_dict(a.state_dict())  # same weights: only the position handling differs
    f, pos = torch.randn(32, 4, 6), torch.randn(1, 32, 4, 6)
    e = MemoryEntry(torch.randn(16, 4, 6), torch.randn(32), t=0, cond=True)
    assert not torch.allclose(a.condition(f, pos, [[e]], 1), b.condition(f, pos, [[e]], 1))


def test_every_memory_parameter_gets_a_gradient():
    torch.manual_seed(0)
    mem = build_memory("track-test")
    f = torch.randn(1, 32, 4, 6)
    feat = mem.encode(f, torch.randn(1, 1, 16, 24), torch.tensor([[-1.0]]))
    ptr = mem.pointer(torch.randn(1, 1, 32), torch.tensor([[1.0]]))
    e_old = MemoryEntry(feat[0], ptr[0], t=0, cond=True)
    e_new = MemoryEntry(feat[0] * 0.5, mem.pointer(torch.randn(1, 1, 32), torch.tensor([[-1.0]]))[0], t=2)
    out = mem.condition(f[0], torch.randn(1, 32, 4, 6), [[e_old, e_new]], t=3)
    out.pow(2).mean().backward()
    missing = [n for n, p in mem.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == ["no_mem_embed"]  # used only when an object has no memory at all


def test_registry_rejects_unknown_names_and_fields():
    with pytest.raises(InputError, match="unknown tracker memory"):
        memory_config_for("nope")
    with pytest.raises(InputError, match="unknown option"):
        memory_config_for("track-test", width=3)
    with pytest.raises(ValueError, match="multiple"):
        build_memory("track-test", mem_dim=12)
