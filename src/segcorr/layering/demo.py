"""The isolation section of `segcorr demo`: a generated page, its isolated characters, their order, metrics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segcorr.layering.isolate import IsolationResult

_METRIC_KEYS = (
    "method",
    "order_acc",
    "order_acc_area",
    "order_acc_lower_edge",
    "iou",
    "bleeding",
    "ms_per_item",
    "ms_per_item_total",
    "pairs",
)


def _isolate(page) -> tuple[IsolationResult, dict]:
    """Isolate the page's characters with the flat segmenter and with the GT amodal masks.

    Returns (the flat result, whose `order` the table shows; images by name: page, both overlays, GT visible).
    """
    from segcorr.layering.evaluate import GivenMasks
    from segcorr.layering.isolate import isolate_page
    from segcorr.layering.output import overlay_image
    from segcorr.segment import build
    from segcorr.viz.overlay import overlay_masks

    flat = isolate_page(page.image, page.characters, build("flat"), panels=page.panels)
    given = isolate_page(
        page.image,
        page.characters,
        GivenMasks([page.amodal[c["id"]] for c in page.characters], amodal=True),
        panels=page.panels,
    )
    truth = overlay_masks(page.image, [page.visible[c["id"]] for c in page.characters])
    images = {
        "page": page.image,
        "isolated_flat": overlay_image(flat, page.image),
        "isolated_amodal": overlay_image(given, page.image),
        "truth": truth,
    }
    return flat, images


def _isolation_figure(report, images: dict) -> None:
    """The section's heading, text and the 2x2 figure of `images`."""
    from segcorr.viz.panel import page_panel

    report.section(
        "Character isolation (hierarchical Z-buffer)",
        "Generated manga page: characters in perspective on a ground plane, children, sitting figures "
        "and close-ups cut by the panel frame. Each character's mask (box-prompted) is ordered by the "
        "Z-buffer key D = w_y H(y) + w_area (1 - area/A_max) + w_type tau(type) (smaller = nearer), joined "
        "with the page's occlusion evidence where two masks overlap (the figure whose outline is drawn "
        "through the overlap is in front), and the masks of characters in front are subtracted.",
    )
    report.image(
        "isolation",
        page_panel(
            list(images.values()),
            ["page", "isolated (flat segmenter)", "isolated (GT amodal masks)", "GT visible masks"],
            cols=2,
        ),
        "Seed 0. Colours: front characters drawn last.",
    )


def _order_rows(page, order: dict) -> list[dict]:
    """One row per panel: the found front-to-back order of character ids next to the true one."""
    return [
        {
            "panel": p,
            "front_to_back (flat)": " ".join(map(str, ids)),
            "front_to_back (truth)": " ".join(
                str(c["id"]) for c in sorted((c for c in page.characters if c["panel"] == p), key=lambda c: c["depth"])
            ),
        }
        for p, ids in order.items()
    ]


def _metric_rows(pages: list, h: int, w: int) -> list[dict]:
    """Isolation metrics over `pages` with GT amodal masks, then with the flat segmenter."""
    from segcorr.layering.evaluate import evaluate_items

    rows = []
    for masks in ("amodal", "flat"):
        r = evaluate_items(iter(pages), len(pages), masks, f"{len(pages)} generated pages {w}x{h}", progress=False)
        rows.append({k: r[k] for k in _METRIC_KEYS})
    return rows


def demo_isolation(report, out: Path | None = None, quick: bool = False) -> tuple[dict, list[dict]]:
    """Add the section to `report` (a `segcorr.viz.report.Report`). Returns (images by name, metric rows).

    Pages come from evaluation seeds (0, 1, ...); `quick` uses two half-size pages.
    """
    from segcorr.data.synth.manga import make_manga_page

    h, w, n = (544, 384, 2) if quick else (1088, 768, 4)
    pages = [make_manga_page(seed, h, w) for seed in range(n)]
    page = pages[0]
    flat, images = _isolate(page)
    _isolation_figure(report, images)
    report.table(_order_rows(page, flat.order), caption="Order per panel, front to back (character ids)")
    rows = _metric_rows(pages, h, w)
    report.table(rows, caption="Isolation metrics (order_acc: overlapping pairs; area / lower_edge: baselines)")
    return images, rows
