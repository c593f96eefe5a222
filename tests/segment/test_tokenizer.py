"""CLIP BPE tokenizer: ids equal to CLIP's (hard-coded from open-clip-torch 3.3.0, and compared live with its
``tokenizer.py``, which the Makefile installs without dependencies), special tokens, truncation, cleaning."""

import functools
import importlib.util

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from segcorr.errors import InputError
from segcorr.segment.tokenizer import EOT_ID, SOT_ID, VOCAB_SIZE, CLIPTokenizer, clean_text

# ids printed by open_clip.tokenizer.SimpleTokenizer().encode(text) (open-clip-torch 3.3.0)
KNOWN = {
    "red hair": [736, 2225],
    "a photo of a cat": [320, 1125, 539, 320, 2368],
    "character with blue hair": [4009, 593, 1746, 2225],
    "Tom &amp; Jerry": [2435, 261, 9164],
    "Café naïve": [15304, 1097, 35689, 563],
    "東京タワー 🍣": [48338, 21078, 105, 34941, 2429, 107, 30391, 2011, 352],
    "it's 2024!": [585, 568, 273, 271, 273, 275, 256],
    "": [],
}


@pytest.fixture(scope="module")
def tok():
    return CLIPTokenizer()


@functools.lru_cache(maxsize=1)
def _reference():
    """open_clip's SimpleTokenizer, loaded from its file: the package's __init__ imports torchvision and timm."""
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None, (
        "the reference tokenizer is missing: pip install --no-deps open-clip-torch==3.3.0 (the Makefile does)"
    )
    path = spec.submodule_search_locations[0] + "/tokenizer.py"
    file_spec = importlib.util.spec_from_file_location("open_clip_reference_tokenizer", path)
    module = importlib.util.module_from_spec(file_spec)
    file_spec.loader.exec_module(module)
    return module.SimpleTokenizer()


@pytest.fixture(scope="module")
def ref():
    return _reference()


@pytest.mark.parametrize("text", sorted(KNOWN))
def test_known_ids(tok, text):
    assert tok.encode(text) == KNOWN[text]


def test_vocabulary_and_special_ids(tok):
    assert (tok.vocab_size, tok.sot_id, tok.eot_id) == (49408, 49406, 49407)
    assert tok.encode("<start_of_text> hi <end_of_text>")[0::2] == [SOT_ID, EOT_ID]
    assert max(tok.encode("zzzqqq xylophone antidisestablishmentarianism")) < VOCAB_SIZE


LIVE = [
    "red hair",
    "character in blue",
    "checkered ellipse",
    "A  Photo\tof\n a CAT.",
    "Tom &amp;amp; Jerry &lt;3",
    "naïve café résumé Ångström",
    "東京タワーの夜景",
    "🍣🍺 emoji 👩‍👩‍👧",
    "don't you'll we've I'm he'd",
    "1234567890 3.14",
    "ÃƒÂ© mojibake",
    "hello,world!!! ???",
    "x" * 300,
    "",
    "   ",
    "<end_of_text>",
]


@pytest.mark.parametrize("text", LIVE)
def test_equals_reference_live(tok, ref, text):
    assert tok.encode(text) == ref.encode(text)
    assert torch.equal(tok(text), ref(text))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_equals_reference_on_any_text(text):
    assert CLIPTokenizer().encode(text) == _reference().encode(text)


def test_batch_rows_start_end_and_zero_padding(tok):
    out = tok(["red hair", ""], context_length=8)
    assert out.dtype == torch.long and out.shape == (2, 8)
    assert out[0].tolist() == [SOT_ID, 736, 2225, EOT_ID, 0, 0, 0, 0]
    assert out[1].tolist() == [SOT_ID, EOT_ID, 0, 0, 0, 0, 0, 0]
    assert tok("").shape == (1, 77)


def test_truncation_keeps_end_token_last(tok, ref):
    text = "a very long phrase " * 30
    out = tok(text)
    assert out.shape == (1, 77) and out[0, -1].item() == EOT_ID and (out[0] != 0).all()
    assert out[0, :-1].tolist() == [SOT_ID, *tok.encode(text)[:75]]
    assert torch.equal(tok([text, "red hair"], context_length=4), ref([text, "red hair"], context_length=4))


def test_context_length_is_a_parameter(tok):
    assert CLIPTokenizer(context_length=16)("red hair").shape == (1, 16)
    assert tok("red hair", context_length=5).shape == (1, 5)
    with pytest.raises(InputError):
        CLIPTokenizer(context_length=1)


def test_cleaning_entities_whitespace_and_case():
    assert clean_text("  Tom &amp;amp;  JERRY\n\t") == "tom & jerry"
    assert clean_text("ÃƒÂ©") == "é"  # ftfy repairs double-encoded UTF-8


def test_decode_round_trip(tok):
    assert tok.decode(tok.encode("Red  Hair, 東京 🍣!")) == "red hair , 東京 🍣!"  # symbols run together: one piece
    assert tok.decode(tok("character with blue hair")[0]) == "character with blue hair"  # row: stops at end
    with pytest.raises(InputError):
        tok.decode([VOCAB_SIZE])


def test_encode_refuses_non_text(tok):
    with pytest.raises(InputError):
        tok.encode(None)
