"""`segcorr eval segment`: the segmentation evaluation command (registered by ``segcorr.cli``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

# the constructor option of each backend that --checkpoint fills
_WEIGHTS_OPTION = {"builtin": "weights", "sam2": "checkpoint"}


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``eval segment`` to the ``eval`` group."""

    @eval_app.command("segment")
    def eval_segment(
        data: Path = typer.Option(
            ...,
            "--data",
            help="Folder of NNNNN_img0.png + NNNNN_seg0.png "
            "(+ NNNNN_inst0.png and meta.json concepts for text), or of "
            "NNNNN_img.png + NNNNN_seg.png.",
        ),
        method: str = typer.Option("flat", help="Segmenter: builtin | flat | sam2."),
        prompt: str = typer.Option(
            "all",
            help="point | box | text | all (text is skipped, its metrics null, when the method or the data has none).",
        ),
        json_out: Path | None = typer.Option(None, "--json", help="Write the metrics JSON here."),
        checkpoint: Path | None = typer.Option(
            None, help="Weights for the segmenter (sam2: the SAM 2.1 .pt file; builtin: a .safetensors path)."
        ),
        limit: int | None = typer.Option(None, min=1, help="Evaluate only the first N images."),
    ) -> None:
        """Point and box mIoU, concept F1 / mask AP / presence MCC for text, ms per image and per prompt."""
        from segcorr.cli_common import _need_dir, _need_file, _need_out, _print_metrics
        from segcorr.errors import InputError
        from segcorr.segment import build
        from segcorr.segment.evalset import SegmentSet
        from segcorr.segment.evaluate import PROMPTS, evaluate_segmenter

        if prompt not in PROMPTS:
            raise InputError(f"unknown --prompt {prompt!r}; expected one of {', '.join(PROMPTS)}")
        if json_out is not None:
            _need_out(json_out)
        dataset = SegmentSet(_need_dir(data))
        kwargs = {}
        if checkpoint is not None:
            if method not in _WEIGHTS_OPTION:
                raise InputError(f"the {method} segmenter takes no --checkpoint", checkpoint)
            kwargs[_WEIGHTS_OPTION[method]] = str(_need_file(checkpoint, "checkpoint"))
        segmenter = build(method, **kwargs)
        result = evaluate_segmenter(
            dataset, segmenter, prompt=prompt, method_name=method, data_name=str(data), limit=limit
        )
        table = result.pop("attribute_table", None)
        _print_metrics(result, None)
        if table:
            _print_attribute_table(table)
            result["attribute_table"] = table
        if json_out is not None:
            from segcorr.io.atomic import atomic_write_text

            atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")


def _print_attribute_table(table: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="presence by colour attribute (right colour vs wrong colours of a noun in the image)")
    for col in ("noun", "right", "n", "wrong", "n"):
        t.add_column(col, justify="left" if col == "noun" else "right")

    def cell(v) -> str:
        return "—" if v is None else f"{v:.3f}"

    for noun, row in table.items():
        t.add_row(noun, cell(row["right"]), str(row["n_right"]), cell(row["wrong"]), str(row["n_wrong"]))
    Console().print(t)
