"""`segcorr synth ...`: synthetic data with exact ground truth (cel pairs, toon shapes, clips, manga pages)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

synth_app = typer.Typer(help="Generate synthetic data with exact ground truth.", no_args_is_help=True)


class CelStyle(str, Enum):
    cel = "cel"
    textured = "textured"
    mixed = "mixed"
    shaded = "shaded"
    film = "film"


class MangaStyle(str, Enum):
    ground = "ground"
    freeform = "freeform"


def synth_cels(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(8, min=1),
    seed: int = typer.Option(0, min=0),
    height: int = typer.Option(384, min=64),
    width: int = typer.Option(512, min=64),
    style: CelStyle = typer.Option(CelStyle.cel, help="Scene style."),
    span: float = typer.Option(1.0, min=0.01, help="Time between the two frames (3: like frames further apart)."),
) -> None:
    """Cel-animation pairs with exact flow, occlusion, segments (pairs layout)."""
    from segcorr.data.synth import write_cels

    out = write_cels(out, count, seed=seed, height=height, width=width, style=style.value, span=span)
    typer.echo(f"wrote {out}")


def synth_toon(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(40, min=1),
    seed: int = typer.Option(0, min=0),
    height: int = typer.Option(384, min=64),
    width: int = typer.Option(512, min=64),
) -> None:
    """Flat-colour outlined shapes from a second, independent generator (NNNNN_img.png + NNNNN_seg.png), to
    evaluate segmenters on cel-like images the synthetic world never drew."""
    from segcorr.data.toon_shapes import write_toon_images

    typer.echo(f"wrote {write_toon_images(out, count, seed=seed, height=height, width=width)}")


def synth_clips(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(2, min=1),
    seed: int = typer.Option(0, min=0),
    frames: int = typer.Option(8, min=2),
    height: int = typer.Option(256, min=64),
    width: int = typer.Option(384, min=64),
    exits: int = typer.Option(0, min=0, help="Instances per clip (lowest ids) that leave the frame and come back."),
) -> None:
    """Clips of T frames with per-instance masklets."""
    from segcorr.data.synth import write_clips

    out = write_clips(out, count, seed=seed, num_frames=frames, height=height, width=width, exits=exits)
    typer.echo(f"wrote {out}")


def synth_manga(
    out: Path = typer.Option(..., "--out"),
    count: int = typer.Option(4, min=1),
    seed: int = typer.Option(0, min=0),
    style: MangaStyle = typer.Option(
        MangaStyle.ground, help="ground (figures on a ground plane) | freeform (depth not implied by height)"
    ),
) -> None:
    """Grayscale manga pages with panels, screentones, characters and visible/amodal masks."""
    from segcorr.data.synth.manga import write_manga

    typer.echo(f"wrote {write_manga(out, count, seed=seed, style=style.value)}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    app.add_typer(synth_app, name="synth")
    synth_app.command("cels")(synth_cels)
    synth_app.command("toon")(synth_toon)
    synth_app.command("clips")(synth_clips)
    synth_app.command("manga")(synth_manga)
