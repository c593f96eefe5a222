"""The `segcorr` command line: one typer app; each command is a thin call into the package.

Bad input never shows a traceback: it becomes one line on stderr and exit code 2 (see `main`).
Heavy imports happen inside the commands so `segcorr --help` stays fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from segcorr.cli_common import _need_file
from segcorr.errors import InputError

app = typer.Typer(
    name="segcorr",
    help="Segment-aware vision for anime, manga and photos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(
    help="Evaluate a method on a data folder; prints a table, --json writes the metrics.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


# ----------------------------------------------------------------------------------------------- demo
@app.command()
def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder for report.html and pictures."),
    quick: bool = typer.Option(False, help="Fewer samples (used by the tests)."),
) -> None:
    """Run every capability on built-in samples and write OUT/report.html."""
    from segcorr.demo import run_demo

    path = run_demo(out, quick=quick)
    typer.echo(f"report: {path}")


# ---------------------------------------------------------------------------------------------- train
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(ctx: typer.Context, config: Path = typer.Argument(..., help="Training config YAML.")) -> None:
    """Train a model: `segcorr train CONFIG.yaml key=value ...` (DDP under torchrun)."""
    from segcorr.train import train as run

    run_dir = run(_need_file(config, "config"), list(ctx.args))
    typer.echo(f"run: {run_dir}")


# ------------------------------------------------------------------------- commands, one module a system
def _register_system_commands() -> None:
    """Each system's commands live in its own module with `register(app, eval_app)`: synthetic data, flow,
    isolation (+ precompute-masks), segmentation (+ eval segment), matching, the agent and tracking."""
    import importlib

    for mod in (
        "segcorr.cli_synth",
        "segcorr.cli_flow",
        "segcorr.cli_isolate",
        "segcorr.cli_segment",
        "segcorr.segment.evaluate_cli",
        "segcorr.cli_match",
        "segcorr.cli_agent",
        "segcorr.cli_track",
    ):
        importlib.import_module(mod).register(app, eval_app)


_register_system_commands()


# ----------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the app and maps errors to exit codes (2 = bad input; usage errors are 2 too)."""
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc  # typer's own click

    debug = os.environ.get("SEGCORR_DEBUG") == "1"
    try:
        rv = app(args=argv, prog_name="segcorr", standalone_mode=False)
        if isinstance(rv, int) and rv:
            sys.exit(rv)
    except click_exc.NoArgsIsHelpError as e:
        e.show()
        sys.exit(e.exit_code)
    except click_exc.UsageError as e:  # a bad option value or a missing argument: one line, exit 2
        where = e.ctx.command_path if e.ctx is not None else "segcorr"
        msg = " ".join(e.format_message().split())
        print(f"{where}: error: {msg} (see '{where} --help')", file=sys.stderr)
        sys.exit(2)
    except typer_exc.Abort:
        print("segcorr: aborted", file=sys.stderr)
        sys.exit(1)
    except InputError as e:
        if debug:
            raise
        print(f"segcorr: error: {e}", file=sys.stderr)
        sys.exit(2)
    except (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        if debug:
            raise
        # os.replace(tmp, target) names both: the target is what the user gave
        where = e.filename2 if e.filename2 is not None else e.filename
        hint = " (a file stands where a folder must go)" if isinstance(e, FileExistsError) else ""
        print(f"segcorr: error: {where}: {e.strerror}{hint}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:  # a bug, not bad input: still one line; SEGCORR_DEBUG=1 shows the traceback
        if debug:
            raise
        print(
            f"segcorr: internal error: {type(e).__name__}: {e} (set SEGCORR_DEBUG=1 for a traceback)", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
