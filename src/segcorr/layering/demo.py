"""The isolation section of `segcorr demo`: a generated page, its isolated characters, their order, metrics."""

from __future__ import annotations

from pathlib import Path


def demo_isolation(report, out: Path | None = None, quick: bool = False) -> tuple[dict, list[dict]]:
    """Add the section to `report` (a `segcorr.viz.report.Report`). Returns (images by name, metric rows).

    Pages come from evaluation seeds (0, 1, ...); `quick` uses two half-size pages.
    """
    from segcorr.data.synth.manga import make_manga_page
    from segcorr.layering.evaluate import GivenMasks, evaluate_items
    from segcorr.layering.isolate import isolate_page
    from segcorr.layering.output import overlay_image
    from segcorr.segment import build
    from segcorr.viz.overlay import overlay_masks
    from segcorr.viz.panel import page_panel

    h, w, n = (544, 384, 2) if quick else (1088, 768, 4)
    pages = [make_manga_page(seed, h, w) for seed in range(n)]
    page = pages[0]
    flat = isolate_page(page.image, page.characters, build("flat"), panels=page.panels)
    given = isolate_page(
        page.image, page.characters, GivenMasks([page.amodal[c["id"]] for c in page.characters]), panels=page.panels
    )
    truth = overlay_masks(page.image, [page.visible[c["id"]] for c in page.characters])
    images = {
        "page": page.image,
        "isolated_flat": overlay_image(flat, page.image),
        "isolated_amodal": overlay_image(given, page.image),
        "truth": truth,
    }
    report.section(
        "Character isolation (hierarchical Z-buffer)",
        "Generated manga page: characters in perspective on a ground plane, children, sitting figures "
        "and close-ups cut by the panel frame. Each character's mask (box-prompted) is ordered by the "
        "Z-buffer key D = w_y H(y) + w_area (1 - area/A_max) + w_type tau(type) (smaller = nearer) and "
        "the masks of characters in front are subtracted.",
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
    order_rows = [
        {
            "panel": p,
            "front_to_back (flat)": " ".join(map(str, ids)),
            "front_to_back (truth)": " ".join(
                str(c["id"]) for c in sorted((c for c in page.characters if c["panel"] == p), key=lambda c: c["depth"])
            ),
        }
        for p, ids in flat.order.items()
    ]
    report.table(order_rows, caption="Order per panel, front to back (character ids)")
    rows = []
    for masks in ("amodal", "flat"):
        r = evaluate_items(iter(pages), len(pages), masks, f"{n} generated pages {w}x{h}", progress=False)
        rows.append(
            {
                k: r[k]
                for k in (
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
            }
        )
    report.table(rows, caption="Isolation metrics (order_acc: overlapping pairs; area / lower_edge: baselines)")
    return images, rows
