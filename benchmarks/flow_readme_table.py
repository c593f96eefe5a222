"""The rows of the flow evaluation table in `src/segcorr/weights/README.md`, generated from the model cards.

    python benchmarks/flow_readme_table.py

Every learned row and the DIS medium row of the 200-cel-pair table come from the `evaluation` block of the shipped
models' cards (`segcorr eval flow ... --json` output); `tests/flow/test_shipped_weights.py` checks that the README
shows these numbers, so a card updated without its README (or the reverse) fails a test. Bold (the best of each
column, zero and Farneback included) is set by hand.
"""

from __future__ import annotations

COLUMNS = ("epe", "epe_noc", "epe_occ", "epe_line", "epe_mb", "epe_flat", "epe_s0_10", "epe_s10_50", "epe_s50_inf")
# README row label -> (weights stem of the card, key in its "evaluation" block)
ROWS = {
    "dis-medium": ("aniflowformer_t_v3", "baseline_dis_medium.cels200"),
    "aniflowformer-v3 (data's segments, fused + polish: the default)": (
        "aniflowformer_t_v3",
        "cels200_given_masks_refine_fuse_polish3",
    ),
    "aniflowformer-v3 (data's segments, fused, `--polish-iters 0`)": (
        "aniflowformer_t_v3",
        "cels200_given_masks_refine_fuse",
    ),
    "aniflowformer-v3 (data's segments, network)": ("aniflowformer_t_v3", "cels200_given_masks_refine_none"),
    "aniflowformer-v3 (flat segmenter, fused + polish: `--masks segmenter`)": (
        "aniflowformer_t_v3",
        "cels200_segmenter_masks_refine_fuse_polish3",
    ),
    "aniflowformer-v3 (flat segmenter, fused, `--polish-iters 0`)": (
        "aniflowformer_t_v3",
        "cels200_segmenter_masks_refine_fuse",
    ),
    "aniflowformer-v3 (flat segmenter, network)": ("aniflowformer_t_v3", "cels200_segmenter_masks_refine_none"),
    "aniflowformer (ablation, data's segments, fused + polish)": (
        "aniflowformer_t",
        "cels200_given_masks_refine_fuse_polish3",
    ),
    "aniflowformer (ablation, data's segments, fused, `--polish-iters 0`)": (
        "aniflowformer_t",
        "cels200_given_masks_refine_fuse",
    ),
    "aniflowformer (ablation, network)": ("aniflowformer_t", "cels200_given_masks_refine_none"),
    "aniflowformer (ablation, flat segmenter, fused + polish)": (
        "aniflowformer_t",
        "cels200_segmenter_masks_refine_fuse_polish3",
    ),
    "aniflowformer (ablation, flat segmenter, fused, `--polish-iters 0`)": (
        "aniflowformer_t",
        "cels200_segmenter_masks_refine_fuse",
    ),
}


def card_metrics(stem: str, key: str) -> dict:
    """The metrics under `key` ("a.b" walks nested blocks) of the card's evaluation block."""
    from segcorr.io.weights import read_model_card

    block = read_model_card(stem)["evaluation"]
    for part in key.split("."):
        block = block[part]
    return block.get("metrics", block)


def table_rows() -> dict[str, list[str]]:
    """README label -> the row's cells (2 decimals), in `COLUMNS` order."""
    return {label: [f"{card_metrics(stem, key)[c]:.2f}" for c in COLUMNS] for label, (stem, key) in ROWS.items()}


def main() -> None:
    for label, cells in table_rows().items():
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
