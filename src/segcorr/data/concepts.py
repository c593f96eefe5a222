"""Concept phrases of the synthetic world and their ground-truth instances (SAM 3's "find" queries).

Every synthetic segment carries a name such as "red hair", "blue shoes", "face", "sky" or "striped chair";
every layer an instance concept ("character with red hair", "striped chair"). From these a scene answers
noun phrases at three levels:

- parts: "hair" (noun) and "red hair" (colour attribute + noun); one instance per character (or object) and
  phrase: both shoes of one character are one "blue shoes" instance, two characters' shoes are two;
- background regions: "sky", "cloud", "white building"; one instance per region;
- whole layers: "character", "character with red hair", "character in blue" (colour of the top), and textured
  objects ("chair", "striped chair").

``scene_queries`` lists, for one image, every phrase present with its instance masks; ``VOCABULARY`` holds every
phrase the generator can produce, so absent phrases (negatives) can be drawn from it. All queries of the
synthetic world are exhaustive: every instance of a present phrase is in the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segcorr.data.synth import palette

TOPS = ("shirt", "jacket", "dress", "sweater")
PART_NOUNS = ("hair", "face", "eyes", "hand", "leg", "pants", "shoes", "sleeve", *TOPS, "hat", "ribbon", "bag", "knob")
BACKGROUND_NOUNS = (
    "sky",
    "cloud",
    "hill",
    "mountain",
    "building",
    "road",
    "grass",
    "wall",
    "window",
    "floor",
    "carpet",
    "shelf",
    "table",
    "sofa",
    "cabinet",
)
OBJECT_NOUNS = ("chair", "polygon", "blob", "ellipse")
TEXTURE_WORDS = ("mottled", "striped", "checkered", "shaded", "textured")
LAYER_NOUNS = ("character",)
# words users type for the generator's nouns
ALIASES = {
    "shoe": "shoes",
    "eye": "eyes",
    "hands": "hand",
    "legs": "leg",
    "characters": "character",
    "person": "character",
    "people": "character",
}


def _color_words() -> tuple[str, ...]:
    hair = tuple(palette.HAIR_NAMES.get(c, c) for c in palette.HAIR)
    return tuple(dict.fromkeys((*palette.CLOTHES, *hair, *palette.EYES)))


COLOR_WORDS = _color_words()


def _vocabulary() -> tuple[str, ...]:
    words: list[str] = [*PART_NOUNS, *BACKGROUND_NOUNS, *OBJECT_NOUNS, *LAYER_NOUNS]
    for noun in (
        "hair",
        "eyes",
        "pants",
        "shoes",
        "sleeve",
        *TOPS,
        "hat",
        "ribbon",
        "bag",
        "building",
        "shelf",
        "table",
        "sofa",
        "cabinet",
    ):
        words += [f"{c} {noun}" for c in COLOR_WORDS]
    words += [f"{t} {n}" for t in TEXTURE_WORDS for n in (*OBJECT_NOUNS, "knob")]
    words += [f"character with {c} hair" for c in dict.fromkeys(palette.HAIR_NAMES.get(h, h) for h in palette.HAIR)]
    words += [f"character in {c}" for c in palette.CLOTHES]
    return tuple(dict.fromkeys(words))


VOCABULARY = _vocabulary()


def normalize_phrase(text: str) -> str:
    """Lower case, single spaces, known aliases folded ("red shoe" -> "red shoes")."""
    words = [ALIASES.get(w, w) for w in text.lower().split()]
    return " ".join(words)


@dataclass(frozen=True)
class FindQuery:
    """One concept query of one image (SAM 3's ``FindQuery``).

    text: the phrase; masks: [N, H, W] bool, one per instance (N = 0 for a negative query);
    is_exhaustive: every instance of the phrase is in ``masks`` (unmatched predictions may be penalised);
    is_pixel_exhaustive: the masks cover every pixel of the concept (a union is exact).
    """

    text: str
    masks: np.ndarray
    is_exhaustive: bool = True
    is_pixel_exhaustive: bool = True

    @property
    def positive(self) -> bool:
        return self.masks.shape[0] > 0


def _noun_of(name: str) -> tuple[str, str]:
    """Split a segment name into (attribute, noun): "red hair" -> ("red", "hair"), "face" -> ("", "face")."""
    parts = name.split(" ", 1)
    if len(parts) == 2 and (parts[0] in COLOR_WORDS or parts[0] in TEXTURE_WORDS):
        return parts[0], parts[1]
    return "", name


_Groups = dict[str, dict[tuple[int, int], np.ndarray]]  # phrase -> instance key -> mask


def _add(groups: _Groups, phrase: str, key: tuple[int, int], mask: np.ndarray) -> None:
    """Add ``mask`` to the instance ``key`` of ``phrase`` (masks of one key are united)."""
    slot = groups.setdefault(phrase, {})
    slot[key] = mask if key not in slot else (slot[key] | mask)


def _add_segment_phrases(
    groups: _Groups, seg: np.ndarray, inst: np.ndarray, concepts: dict[int, str]
) -> dict[int, str]:
    """Part and background phrases, one instance per (layer) or per (background region); returns the colour of
    each layer's top (instance id -> colour word) for "character in COLOUR"."""
    ids = np.unique(seg)
    layer_tops: dict[int, str] = {}
    for sid in ids[ids > 0]:
        name = concepts.get(int(sid))
        if name is None:
            continue
        m = seg == sid
        owners = inst[m]
        owner = int(np.bincount(owners).argmax()) if owners.size else 0
        attr, noun = _noun_of(name)
        if owner == 0:  # background region: its own instance
            key = (0, int(sid))
        else:
            key = (owner, 0)
            if noun in TOPS and attr in palette.CLOTHES:
                layer_tops[owner] = attr
            if noun in OBJECT_NOUNS:
                continue  # an object's body answers at the layer level below
        if noun not in PART_NOUNS and noun not in BACKGROUND_NOUNS and not noun.endswith("building"):
            continue
        _add(groups, noun, key, m)
        if attr:
            _add(groups, f"{attr} {noun}", key, m)
    return layer_tops


def _add_layer_phrases(
    groups: _Groups, inst: np.ndarray, instance_concepts: dict[int, str], layer_tops: dict[int, str]
) -> None:
    """Whole-layer phrases: "character", its instance concept, "character in COLOUR"; objects by noun and name."""
    for iid, name in instance_concepts.items():
        m = inst == int(iid)
        if not m.any():
            continue
        key = (int(iid), 0)
        if name.startswith("character"):
            _add(groups, "character", key, m)
            _add(groups, name, key, m)
            if int(iid) in layer_tops:
                _add(groups, f"character in {layer_tops[int(iid)]}", key, m)
        else:
            attr, noun = _noun_of(name)
            _add(groups, noun, key, m)
            if attr:
                _add(groups, name, key, m)


def scene_queries(
    seg: np.ndarray, inst: np.ndarray, concepts: dict[int, str], instance_concepts: dict[int, str], min_pixels: int = 16
) -> dict[str, np.ndarray]:
    """Every phrase present in one image with its instance masks.

    seg, inst: int [H, W] segment and instance ids (0 = none / background); concepts: segment id -> name;
    instance_concepts: instance id -> name. Returns {phrase: bool [N, H, W]}; instances with fewer than
    ``min_pixels`` visible pixels are left out (a phrase with none left is absent).
    """
    seg = np.asarray(seg)
    inst = np.asarray(inst)
    groups: _Groups = {}
    layer_tops = _add_segment_phrases(groups, seg, inst, concepts)
    _add_layer_phrases(groups, inst, instance_concepts, layer_tops)
    out: dict[str, np.ndarray] = {}
    for phrase, slot in groups.items():
        masks = [mk for mk in slot.values() if int(mk.sum()) >= min_pixels]
        if masks:
            out[phrase] = np.stack(masks)
    return out


def find_queries(
    seg: np.ndarray,
    inst: np.ndarray,
    concepts: dict[int, str],
    instance_concepts: dict[int, str],
    rng: np.random.Generator,
    n_pos: int,
    n_neg: int,
    hard_negative_frac: float = 0.5,
    min_pixels: int = 16,
) -> list[FindQuery]:
    """Up to ``n_pos`` positive queries (phrases present) and ``n_neg`` negative ones (absent phrases of
    ``VOCABULARY``; a share ``hard_negative_frac`` of them keeps a present noun with another attribute, as
    "blue hair" where only red hair is drawn), drawn with ``rng``."""
    present = scene_queries(seg, inst, concepts, instance_concepts, min_pixels)
    h, w = seg.shape
    names = sorted(present)
    pos = [names[i] for i in rng.permutation(len(names))[:n_pos]]
    absent = [v for v in VOCABULARY if v not in present]
    nouns_present = {p.split(" ", 1)[1] for p in names if " " in p}
    hard = [v for v in absent if " " in v and v.split(" ", 1)[1] in nouns_present]
    n_hard = min(len(hard), int(round(n_neg * hard_negative_frac)))
    neg = [hard[i] for i in rng.permutation(len(hard))[:n_hard]]
    rest = [v for v in absent if v not in set(neg)]
    neg += [rest[i] for i in rng.permutation(len(rest))[: n_neg - len(neg)]]
    empty = np.zeros((0, h, w), bool)
    return [FindQuery(p, present[p]) for p in pos] + [FindQuery(n, empty) for n in neg]
