"""CLIP's byte-pair-encoding tokenizer, id for id (the text side of the builtin concept segmenter).

Text is cleaned as CLIP cleans it (``ftfy.fix_text``, HTML entities unescaped twice, whitespace folded,
lower case), split with CLIP's regular expression (letters, single digits, runs of other symbols and the
English contractions), each piece mapped byte by byte to printable characters (``bytes_to_unicode``) and
merged with the first 49152 - 256 - 2 merges of ``assets/bpe_simple_vocab_16e6.txt.gz`` (the merges file
CLIP ships; see ``assets/README.md``). Vocabulary: 256 byte tokens, the same 256 with the end-of-word mark
``</w>``, 48894 merges, ``<start_of_text>`` (49406) and ``<end_of_text>`` (49407): 49408 ids.

The merges are read once, on first use (``_vocab`` is cached); importing this module does no work.
"""

from __future__ import annotations

import gzip
import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from segcorr.errors import InputError

MERGES_PATH = Path(__file__).parent / "assets" / "bpe_simple_vocab_16e6.txt.gz"
VOCAB_SIZE = 49408
SOT_ID = 49406  # <start_of_text>
EOT_ID = 49407  # <end_of_text>
SPECIAL_TOKENS = ("<start_of_text>", "<end_of_text>")
DEFAULT_CONTEXT_LENGTH = 77
_NUM_MERGES = 49152 - 256 - 2
_WORD_END = "</w>"


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """A reversible map from the 256 byte values to printable characters (CLIP's): printable Latin-1 bytes
    map to themselves, the others (controls, space) to code points 256.. so that no token holds whitespace."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


@dataclass(frozen=True)
class _Vocab:
    encoder: dict[str, int]  # token string -> id
    decoder: dict[int, str]  # id -> token string
    ranks: dict[tuple[str, str], int]  # merge pair -> priority (lower merges first)
    byte_encoder: dict[int, str]
    byte_decoder: dict[str, int]
    pattern: object  # compiled `regex` pattern


@lru_cache(maxsize=1)
def _vocab() -> _Vocab:
    """Read the merges file and build the tables (once per process)."""
    import regex

    if not MERGES_PATH.is_file():
        raise InputError("the CLIP merges file is missing from the installed package", MERGES_PATH)
    with gzip.open(MERGES_PATH, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _NUM_MERGES + 1]]  # line 0 is the version header
    byte_encoder = bytes_to_unicode()
    tokens = list(byte_encoder.values())
    tokens += [t + _WORD_END for t in tokens]
    tokens += ["".join(m) for m in merges]
    tokens += list(SPECIAL_TOKENS)
    encoder = {t: i for i, t in enumerate(tokens)}
    if len(encoder) != VOCAB_SIZE or encoder[SPECIAL_TOKENS[0]] != SOT_ID:
        raise InputError(
            f"expected {VOCAB_SIZE} distinct tokens from the merges file, found {len(encoder)}", MERGES_PATH
        )
    pattern = regex.compile(
        "|".join(SPECIAL_TOKENS) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", regex.IGNORECASE
    )
    return _Vocab(
        encoder=encoder,
        decoder={i: t for t, i in encoder.items()},
        ranks={m: i for i, m in enumerate(merges)},
        byte_encoder=byte_encoder,
        byte_decoder={c: b for b, c in byte_encoder.items()},
        pattern=pattern,
    )


def clean_text(text: str) -> str:
    """CLIP's cleaning: repair mojibake (ftfy), unescape HTML entities twice, fold whitespace, lower case."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


@lru_cache(maxsize=1 << 16)
def _bpe(piece: str) -> tuple[str, ...]:
    """Merge one pre-token (already byte-mapped) into BPE tokens, the last one ending in ``</w>``.

    Repeatedly merges the adjacent pair with the lowest rank, as CLIP does. Bounded cache: phrases repeat.
    """
    if piece in SPECIAL_TOKENS:
        return (piece,)
    ranks = _vocab().ranks
    word = (*piece[:-1], piece[-1] + _WORD_END)
    while len(word) > 1:
        pairs = set(zip(word[:-1], word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, len(ranks)))
        if best not in ranks:
            break
        merged: list[str] = []
        i = 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == best[0] and word[i + 1] == best[1]:
                merged.append(word[i] + word[i + 1])
                i += 2
            else:
                merged.append(word[i])
                i += 1
        word = tuple(merged)
    return word


class CLIPTokenizer:
    """CLIP BPE tokenizer. ``tok("red hair")`` -> LongTensor [1, 77]: start, tokens, end, zero padding.

    Arguments:
        context_length: default length of the rows ``__call__`` returns (>= 2).
    """

    vocab_size = VOCAB_SIZE
    sot_id = SOT_ID
    eot_id = EOT_ID

    def __init__(self, context_length: int = DEFAULT_CONTEXT_LENGTH) -> None:
        self.context_length = _check_length(context_length)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without the start and end tokens (after CLIP's cleaning)."""
        if not isinstance(text, str):
            raise InputError(f"expected a text string, found {type(text).__name__}")
        v = _vocab()
        ids: list[int] = []
        for piece in v.pattern.findall(clean_text(text)):
            mapped = "".join(v.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(v.encoder[t] for t in _bpe(mapped))
        return ids

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> torch.Tensor:
        """Rows of ids: LongTensor [N, context_length] (N = 1 for a single string).

        Each row is ``<start_of_text>``, the tokens, ``<end_of_text>``, then zeros. A text too long for the
        row is cut so that ``<end_of_text>`` stays the last token (the text encoder pools there).
        """
        length = self.context_length if context_length is None else _check_length(context_length)
        if isinstance(texts, str):
            texts = [texts]
        out = torch.zeros(len(texts), length, dtype=torch.long)
        for i, text in enumerate(texts):
            ids = [SOT_ID, *self.encode(text)][: length - 1] + [EOT_ID]
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Text of a sequence of ids. ``<start_of_text>`` is dropped; decoding stops at ``<end_of_text>``
        (what follows it in a row is padding). Word ends become spaces; the result is stripped."""
        v = _vocab()
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        tokens: list[str] = []
        for i in ids:
            i = int(i)
            if i == EOT_ID:
                break
            if i == SOT_ID:
                continue
            if not 0 <= i < VOCAB_SIZE:
                raise InputError(f"expected token ids in 0..{VOCAB_SIZE - 1}, found {i}")
            tokens.append(v.decoder[i])
        raw = bytearray(v.byte_decoder[c] for c in "".join(tokens))
        return raw.decode("utf-8", errors="replace").replace(_WORD_END, " ").strip()


def _check_length(context_length: int) -> int:
    if int(context_length) < 2:
        raise InputError(f"expected a context length >= 2 (start and end tokens), found {context_length}")
    return int(context_length)
