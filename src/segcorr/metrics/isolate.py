"""Character-isolation metrics: front-to-back ordering accuracy against two baselines, mask IoU and bleeding.

Protocol (one for every method compared; `segcorr eval isolate` runs it through `segcorr.layering.evaluate`):
- ordering: every pair of characters of one panel whose GT amodal masks overlap (>= 1 px) and whose GT depths
  differ (`ordering_pairs`); a method is right when it puts the GT-nearer one in front, a tie counts 1/2
  (`pair_score`). The Z-buffer is compared with two baselines on the same pairs and the same masks: area only
  (larger mask area = nearer) and lower edge (larger body-box y1 = nearer).
- iou: mean over characters of IoU(isolated mask, GT visible mask).
- bleeding: over all characters, the share of isolated-mask pixels that lie in OTHER characters' GT visible
  masks (pooled: sum of bleeding pixels / sum of mask pixels).
The accumulator keeps sums and counts only.
"""

from __future__ import annotations

import numpy as np

from segcorr.metrics.masks import mask_iou


def pair_score(key_i: float, key_j: float, i_nearer: bool, smaller_is_nearer: bool) -> float:
    """1 when the keys put the GT-nearer character (i when `i_nearer`) in front, 0 when not, 0.5 on a tie."""
    if key_i == key_j:
        return 0.5
    return float((key_i < key_j) == i_nearer) if smaller_is_nearer else float((key_i > key_j) == i_nearer)


def ordering_pairs(characters: list[dict], amodal: dict) -> list[tuple[int, int]]:
    """Index pairs (i, j) of characters of one panel whose amodal masks (id -> bool [H, W]) overlap and whose
    depths differ."""
    out = []
    boxes = {}
    for ch in characters:
        m = amodal[ch["id"]]
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        boxes[ch["id"]] = None if not len(rows) else (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1)
    for i, a in enumerate(characters):
        for j in range(i + 1, len(characters)):
            b = characters[j]
            if a.get("panel") != b.get("panel") or a.get("depth") is None or b.get("depth") is None:
                continue
            if a["depth"] == b["depth"] or boxes[a["id"]] is None or boxes[b["id"]] is None:
                continue
            ba, bb = boxes[a["id"]], boxes[b["id"]]
            r0, r1, c0, c1 = max(ba[0], bb[0]), min(ba[1], bb[1]), max(ba[2], bb[2]), min(ba[3], bb[3])
            if r0 < r1 and c0 < c1 and (amodal[a["id"]][r0:r1, c0:c1] & amodal[b["id"]][r0:r1, c0:c1]).any():
                out.append((i, j))
    return out


class IsolationMetricAccumulator:
    """Ordering accuracy (Z-buffer, area, lower edge), IoU and bleeding over pages, as sums and counts."""

    def __init__(self) -> None:
        self.right = {"zbuffer": 0.0, "area": 0.0, "lower_edge": 0.0}
        self.pairs, self.ious, self.bleed_px, self.mask_px = 0, [], 0, 0

    def update(
        self, characters: list[dict], amodal: dict, visible: dict, keys: dict, masks: dict, hw: tuple[int, int]
    ) -> None:
        """One page of size hw: characters (with id, panel, depth, body_box), GT amodal and visible masks (id ->
        bool [H, W]), the method's depth keys (id -> key with `d` and `area_px`) and isolated masks (id -> bool
        [H, W])."""
        for i, j in ordering_pairs(characters, amodal):
            a, b = characters[i], characters[j]
            i_near = a["depth"] < b["depth"]
            ka, kb = keys[a["id"]], keys[b["id"]]
            self.right["zbuffer"] += pair_score(ka.d, kb.d, i_near, True)
            self.right["area"] += pair_score(ka.area_px, kb.area_px, i_near, False)
            self.right["lower_edge"] += pair_score(a["body_box"][3], b["body_box"][3], i_near, False)
            self.pairs += 1
        owner = np.zeros(hw, np.int32)
        for n, c in enumerate(characters, start=1):
            owner[visible[c["id"]]] = n
        for n, c in enumerate(characters, start=1):
            m = masks[c["id"]]
            self.ious.append(mask_iou(m, visible[c["id"]]))
            inside = owner[m]
            self.bleed_px += int(np.count_nonzero((inside > 0) & (inside != n)))
            self.mask_px += int(inside.size)

    def result(self) -> dict:
        """order_acc, order_acc_area, order_acc_lower_edge, iou, bleeding (None without pairs / characters),
        pairs, characters."""
        acc = {k: (v / self.pairs if self.pairs else None) for k, v in self.right.items()}
        return {
            "order_acc": acc["zbuffer"],
            "order_acc_area": acc["area"],
            "order_acc_lower_edge": acc["lower_edge"],
            "iou": float(np.mean(self.ious)) if self.ious else None,
            "bleeding": self.bleed_px / self.mask_px if self.mask_px else None,
            "pairs": self.pairs,
            "characters": len(self.ious),
        }
