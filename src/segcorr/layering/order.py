"""Front-to-back order from the Z-buffer key and the occlusion evidence together (issue 15, item 2).

For two characters a, b of one panel the pairwise score is

    s_ab = weight * e_ab * [|e_ab| >= threshold] + (D_b - D_a)        (> 0: a in front of b)

with D the ADR key (`zbuffer.py`, smaller = nearer) and e_ab the occlusion evidence (`evidence.py`, only for
overlapping pairs). Strong evidence (weight >> the spread of D) decides its pair; pairs without it keep the
key's order. The panel's order is the permutation that violates the least total |s| (exact by dynamic
programming over subsets up to `EXACT_MAX` characters, adjacent swaps beyond), and the characters get new
keys: the panel's sorted D values handed out along that order (plus 1e-6 per rank, so no two tie), so the
keys still read "smaller = nearer" and keep the ADR's scale. With weight 0 the order is the ADR's.

`page_order` is the whole step for one page: D fitted to the page's evidence (`calibrate_keys`, or the size term
alone where the evidence says height means little), then weak overlap tests for the pairs without evidence where
that D still orders the evidence pairs badly, then `evidence_keys`.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

EXACT_MAX = 10


def _scores(d: np.ndarray, e: np.ndarray, weight: float, threshold: float, use_key: bool = True) -> np.ndarray:
    """s [n, n]: s[a, b] > 0 when a belongs in front of b. d: keys [n]; e: evidence [n, n] (antisymmetric);
    use_key False: the evidence alone."""
    strong = np.where(np.abs(e) >= threshold, e, 0.0)
    return weight * strong + ((d[None, :] - d[:, None]) if use_key else 0.0)


def best_order(s: np.ndarray) -> list[int]:
    """The permutation (front first) of least violated |s| (see the module docstring); s: [n, n] antisymmetric."""
    n = len(s)
    cost = np.maximum(-s, 0.0)  # cost[x, y]: placing x in front of y although s says y belongs in front
    if n <= 1:
        return list(range(n))
    if n > EXACT_MAX:
        order = sorted(range(n), key=lambda i: -s[i].sum())
        improved = True
        while improved:
            improved = False
            for k in range(n - 1):
                a, b = order[k], order[k + 1]
                if cost[a, b] > cost[b, a]:
                    order[k], order[k + 1] = b, a
                    improved = True
        return order
    full = (1 << n) - 1
    best = np.full(1 << n, np.inf)
    last = np.full(1 << n, -1, np.int64)
    best[0] = 0.0
    for subset in range(1 << n):
        if not np.isfinite(best[subset]):
            continue
        members = [y for y in range(n) if subset >> y & 1]
        for x in range(n):
            if subset >> x & 1:
                continue
            c = best[subset] + sum(cost[y, x] for y in members)  # every member is in front of x
            nxt = subset | (1 << x)
            if c < best[nxt] - 1e-12:
                best[nxt], last[nxt] = c, x
    order, subset = [], full
    while subset:
        x = int(last[subset])
        order.append(x)
        subset &= ~(1 << x)
    return order[::-1]


def evidence_keys(keys: dict, evidence: dict, weight: float, threshold: float, use_key: bool = True) -> dict:
    """New keys (id -> DepthKey, `d` replaced, the ADR key kept as `d_adr`, the strongest evidence the
    character took part in as `evidence`) whose order per panel is `best_order` of the scores above.
    keys: id -> DepthKey; evidence: {(a, b): e_ab} (a in front when > 0); use_key False: the evidence alone
    orders (the ablation; pairs without evidence keep the input order)."""
    panels: dict[int, list] = {}
    for cid, k in keys.items():
        panels.setdefault(k.panel, []).append(cid)
    out = {}
    for ids in panels.values():
        if use_key:
            ids = sorted(ids, key=lambda c: keys[c].d)  # ties keep the D order
        else:  # ties in an order that says nothing of depth (input order may: a generator's ids do)
            ids = sorted(ids, key=lambda c: hashlib.sha1(str(c).encode()).hexdigest())
        index = {c: n for n, c in enumerate(ids)}
        d = np.array([keys[c].d for c in ids], np.float64)
        e = np.zeros((len(ids), len(ids)))
        for (a, b), v in evidence.items():
            if a in index and b in index:
                e[index[a], index[b]], e[index[b], index[a]] = v, -v
        order = best_order(_scores(d, e, weight, threshold, use_key))
        values = np.sort(d)
        for rank, i in enumerate(order):
            c = ids[i]
            out[c] = dataclasses.replace(
                keys[c], d=float(values[rank] + 1e-6 * rank), d_adr=keys[c].d, evidence=float(np.abs(e[i]).max())
            )
    return {c: out[c] for c in keys}


def _term(k, name: str) -> float | None:
    from segcorr.layering.zbuffer import TAU

    return TAU[k.type] if name == "type" else getattr(k, name)


def shrunk_share(agree: list[float], prior: float = 0.75, pairs: float = 1.0) -> float:
    """The mean of 0/1 (1/2 on ties) agreements, shrunk toward `prior` by `pairs` pseudo-pairs (`prior` when empty)."""
    return (sum(agree) + pairs * prior) / (len(agree) + pairs)


def term_agreement(keys: dict, evidence: dict, threshold: float) -> dict[str, list[float]]:
    """Per key term (y, area, type, depth): for each of the page's evidence pairs (|e| >= threshold) where both
    characters have the term, 1 when the term alone orders the pair as the evidence does, 0 when not, 1/2 on a tie."""
    agree: dict[str, list[float]] = {t: [] for t in ("y", "area", "type", "depth")}
    for (a, b), e in evidence.items():
        if abs(e) < threshold or a not in keys or b not in keys:
            continue
        for t in agree:
            ta, tb = _term(keys[a], t), _term(keys[b], t)
            if ta is not None and tb is not None:
                agree[t].append(0.5 if ta == tb else float((ta < tb) == (e > 0)))
    return agree


def calibrate_keys(
    keys: dict, evidence: dict, weights: tuple[float, ...], threshold: float, prior: float = 0.75, pairs: float = 1.0
) -> dict:
    """The ADR key with its weights fitted to the page: each term (y, area, type, depth) keeps its weight times
    max(0, 2a - 1), a = the share of the page's evidence pairs (|e| >= threshold) that the term alone orders as
    the evidence does, shrunk toward `prior` by `pairs` pseudo-pairs. A page drawn on a ground plane keeps its
    height term; a page whose figures stand at any height loses it. Without evidence pairs (or when every
    weight would vanish) the keys stay as they are. weights: (w_y, w_area, w_type, w_depth), normalised."""
    names = ("y", "area", "type", "depth")
    agree = term_agreement(keys, evidence, threshold)
    if not any(agree.values()):
        return keys
    w = {}
    for t, w0 in zip(names, weights):
        share = shrunk_share(agree[t], prior, pairs)
        w[t] = w0 * max(0.0, 2.0 * share - 1.0)
    total = sum(w.values())
    if total <= 0:
        return keys
    out = {}
    for c, k in keys.items():
        d = sum(w[t] * _term(k, t) for t in names if _term(k, t) is not None) / total
        out[c] = dataclasses.replace(k, d=float(d))
    return out


def key_agreement(keys: dict, evidence: dict, threshold: float, prior: float = 0.75, pairs: float = 1.0) -> float:
    """The share of the page's evidence pairs (|e| >= threshold) that the keys order as the evidence does (ties
    1/2), shrunk toward `prior` by `pairs` pseudo-pairs: how far the key can be trusted on this page."""
    agree = [
        0.5 if keys[a].d == keys[b].d else float((keys[a].d < keys[b].d) == (e > 0))
        for (a, b), e in evidence.items()
        if abs(e) >= threshold and a in keys and b in keys
    ]
    return shrunk_share(agree, prior, pairs)


def size_keys(keys: dict) -> dict:
    """The keys with d = the area term alone (the larger figure nearer)."""
    return {c: dataclasses.replace(k, d=float(k.area)) for c, k in keys.items()}


def _fitted_key(keys: dict, evidence: dict, weights: tuple[float, ...], cfg) -> dict:
    """The key of `page_order`: the ADR key fitted to the evidence (`calibrate_keys`), or with `cfg.size_key` the
    size term alone where the height term orders at most `cfg.height_trust` of the page's evidence pairs right
    (shrunk as in `calibrate_keys`; at least one pair) or the size term orders more of them right than the fit."""
    out = calibrate_keys(keys, evidence, weights, cfg.threshold)
    if not cfg.size_key:
        return out
    size = size_keys(keys)
    height = term_agreement(keys, evidence, cfg.threshold)["y"]
    if height and shrunk_share(height) <= cfg.height_trust:
        return size
    return size if key_agreement(size, evidence, cfg.threshold) > key_agreement(out, evidence, cfg.threshold) else out


def page_order(keys: dict, evidence: dict, weak_t: dict, weights: tuple[float, ...], cfg) -> dict:
    """New keys of one page (id -> DepthKey) from the ADR keys, the page's evidence {(a, b): e_ab} and the
    overlap test's t of the pairs left without evidence {(a, b): t} (`evidence.page_readings`); cfg: an
    `EvidenceConfig`.

    With `cfg.calibrate` the key is fitted to the evidence (`_fitted_key`: on a page whose figures stand at any
    height, size is the one 2-D cue left). Where that key still orders less than `cfg.reliable` of the evidence
    pairs right (`key_agreement`; always without the key), an overlap test with |t| >= `cfg.overlap_t_weak`
    decides its pair as a strong one would (+-`overlap_e`): a pair without evidence goes to the better of two
    weak guesses. Then `evidence_keys` orders each panel."""
    out = _fitted_key(keys, evidence, weights, cfg) if cfg.calibrate else keys
    trust = key_agreement(out, evidence, cfg.threshold) if cfg.use_key else 0.0
    if cfg.overlap_t_weak > 0 and trust < cfg.reliable:
        weak = {p: float(np.copysign(cfg.overlap_e, t)) for p, t in weak_t.items() if abs(t) >= cfg.overlap_t_weak}
        evidence = {**evidence, **weak}
    return evidence_keys(out, evidence, cfg.weight, cfg.threshold, cfg.use_key)
