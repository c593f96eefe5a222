"""`segcorr agent`: the generate-verify-refine loop from the command line (registered by cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from segcorr.errors import InputError


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @app.command()
    def agent(
        image: Path = typer.Argument(..., help="Image to search."),
        query: str = typer.Option(..., "--query", help='What to find, e.g. "the girl holding the umbrella".'),
        out: Path = typer.Option(..., "--out", help="Output folder (masks, overlay, masks.json, transcript)."),
        base_url: str | None = typer.Option(
            None,
            "--base-url",
            help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1 (default: the offline verifier).",
        ),
        model: str | None = typer.Option(None, "--model", help="Model name on that server."),
        api_key_env: str = typer.Option(
            "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the key (unset: no key)."
        ),
        max_generations: int = typer.Option(
            16, "--max-generations", min=1, help="Replies of the model before giving up."
        ),
        segmenter: str = typer.Option("builtin", "--segmenter", help="Segmenter that answers text prompts."),
        timeout: float = typer.Option(120.0, "--timeout", min=0.001, help="Seconds per request."),
        retries: int = typer.Option(3, "--retries", min=0, help="Retries on time-out, 429 and 5xx."),
        backoff: float = typer.Option(
            1.0, "--backoff", min=0.0, help="First wait between retries (s), doubled each time."
        ),
        min_score: float = typer.Option(
            0.5, "--min-score", help="Offline verifier: lowest instance score (and presence) accepted."
        ),
    ) -> None:
        """Find the objects a query describes: a multimodal model drives the segmenter and checks its masks."""
        _run_agent(
            image,
            query,
            out,
            base_url,
            model,
            api_key_env,
            max_generations,
            segmenter,
            timeout,
            retries,
            backoff,
            min_score,
        )


def _run_agent(
    image: Path,
    query: str,
    out: Path,
    base_url: str | None,
    model: str | None,
    api_key_env: str,
    max_generations: int,
    segmenter: str,
    timeout: float,
    retries: int,
    backoff: float,
    min_score: float,
) -> None:
    """The body of ``segcorr agent`` (arguments: its options): check them, run the loop, write the answer."""
    from segcorr import segment as seg
    from segcorr.agent import Agent, AgentConfig
    from segcorr.agent.output import write_result
    from segcorr.cli_common import _need_file, _need_out
    from segcorr.io.image import read_image

    _need_out(out, folder=True)

    if not query.strip():
        raise InputError("--query is empty; say what to find")
    if model is not None and base_url is None:
        raise InputError("--model needs --base-url (without a server the offline verifier runs)")
    img = read_image(_need_file(image, "image"))
    if segmenter not in seg.NAMES:
        raise InputError(
            f"segmenter {segmenter!r} is not available in this installation (have: "
            f"{', '.join(seg.NAMES)}); choose one that answers text prompts with --segmenter"
        )
    chat = _chat(base_url, model, api_key_env, timeout, retries, backoff, min_score)
    runner = Agent(seg.build(segmenter), chat, config=AgentConfig(max_generations=max_generations))
    result = runner.run(img, query)
    write_result(out, img, result)
    if result.status == "max_generations":
        typer.echo(f"no answer within {max_generations} generations; wrote the transcript to {out}", err=True)
    typer.echo(f"{result.status}: wrote {len(result.masks)} mask(s) to {out} ({result.generations} generations)")


def _chat(
    base_url: str | None,
    model: str | None,
    api_key_env: str,
    timeout: float,
    retries: int,
    backoff: float,
    min_score: float,
):
    """The model the agent talks to: the offline verifier without ``base_url``, else an OpenAI-compatible client."""
    from segcorr.agent import ClientConfig, OfflineVerifier, OpenAIChat

    if base_url is None:
        return OfflineVerifier(min_score=min_score, min_presence=min_score)
    return OpenAIChat(
        base_url,
        model or "",
        api_key_env=api_key_env,
        config=ClientConfig(timeout_s=timeout, retries=retries, backoff_s=backoff, backoff_max_s=max(backoff, 16.0)),
    )
