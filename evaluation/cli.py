"""``vigil eval``: run OVO-Bench, StreamingBench or the synthetic set, and write the report."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["eval_app"]

eval_app = typer.Typer(
    help="Evaluate Vigil on OVO-Bench, StreamingBench or a synthetic set.", no_args_is_help=True
)
console = Console(highlight=False)

Out = Annotated[Path, typer.Option("--out", "-o", help="Report folder (resumes if it exists).")]
ModeOption = Annotated[
    str, typer.Option("--mode", "-m", help="streaming (default), polling or offline.")
]
Paced = Annotated[bool, typer.Option("--paced", help="Play in real time (default: unpaced).")]
Workers = Annotated[int, typer.Option("--workers", "-j", help="Runs at once on the Ray cluster.")]
Context = Annotated[
    float | None, typer.Option("--context", help="Offline: seconds of history per question.")
]
Address = Annotated[str | None, typer.Option("--address", help="Join this Ray cluster.")]
ConfigPath = Annotated[Path | None, typer.Option("--config", "-c", help="Vigil TOML file.")]
Limit = Annotated[int | None, typer.Option("--limit", help="Evaluate only the first N queries.")]


@eval_app.command("run")
def run(
    annotations: Annotated[
        list[Path], typer.Argument(help="Official annotation files (OVO-Bench, StreamingBench).")
    ],
    videos: Annotated[Path, typer.Option("--videos", "-v", help="Folder holding the videos.")],
    out: Out = Path("eval-report"),
    mode: ModeOption = "streaming",
    paced: Paced = False,
    workers: Workers = 1,
    context: Context = None,
    address: Address = None,
    config: ConfigPath = None,
    limit: Limit = None,
) -> None:
    """Evaluate on official annotation files plus their video folder."""
    evaluate(annotations, videos, out, mode, paced, workers, context, address, config, limit)


@eval_app.command("synthetic")
def synthetic(
    out: Out = Path("eval-synthetic"),
    clips: Annotated[
        int, typer.Option("--clips", help="Clips (about 14 questions each; 5 take ~1 min).")
    ] = 5,
    split: Annotated[
        str, typer.Option("--split", help="dev (tune on it) or heldout (never tune on it).")
    ] = "dev",
    mode: ModeOption = "streaming",
    paced: Paced = False,
    workers: Workers = 1,
    address: Address = None,
    config: ConfigPath = None,
) -> None:
    """Generate the synthetic set (both formats) under OUT, evaluate on it, print the table."""
    from evaluation.resultlog import ResultLog
    from evaluation.synthetic import SPLITS, build_synthetic
    from evaluation.synthetic.scores import kind_scores
    from vigil.errors import ConfigError

    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}", hint="use dev or heldout")
    made = build_synthetic(out / "data", clips=clips, split=split)  # type: ignore[arg-type]
    console.print(
        f"[dim]synthetic set ({split}): {made.questions} questions on {clips} clips[/dim]"
    )
    files = [made.ovo, *made.streamingbench]
    evaluate(files, made.root, out, mode, paced, workers, None, address, config, None)
    print_kinds(kind_scores(made.truth, ResultLog(out / f"answers-{mode}.jsonl").answers))


def print_kinds(scores: dict[str, Any]) -> None:
    """The synthetic set's own breakdown: every question kind, then overall and proactive."""
    table = Table(title="by kind of question")
    for column in ("kind", "accuracy %", "n"):
        table.add_column(column)
    for kind, score in sorted(scores["kinds"].items()):
        table.add_row(kind, f"{score['accuracy']:.1f}", str(score["n"]))
    table.add_row("OVERALL", f"{scores['overall']:.1f}", str(scores["n"]), style="bold")
    console.print(table)
    if scores["proactive_on_time"] is not None:
        console.print(
            f"proactive: {scores['proactive_on_time']:.1f}% on time, "
            f"{scores['proactive_spurious']:.1f}% of answers spurious"
        )


@eval_app.command("score")
def score(
    files: Annotated[
        list[Path], typer.Argument(help="Official result files; several merge.", metavar="FILE")
    ],
    benchmark: Annotated[
        str, typer.Option("--benchmark", "-b", help="ovo-bench or streamingbench.")
    ],
    model: Annotated[
        str | None, typer.Option("--model", help="StreamingBench answer key (default: found).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the score as JSON.")] = False,
) -> None:
    """Score official result files (any model's) under the official rules."""
    from evaluation.score_files import print_score

    print_score(benchmark, files, model, as_json)


@eval_app.command("instructions")
def instructions(
    split: Annotated[
        str,
        typer.Option(
            "--split",
            help="dev (tuned on), heldout, fresh, unseen or sealed (never tuned on; fresh, "
            "unseen and sealed were written by people who had not seen the rules or the other "
            "splits).",
        ),
    ] = "heldout",
    understanding: Annotated[
        str, typer.Option("--understanding", help="auto, model or rules (decision.understanding).")
    ] = "auto",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the result as JSON.")
    ] = None,
    config: ConfigPath = None,
) -> None:
    """How well standing instructions are understood, on the packaged instruction set."""
    import json

    from evaluation.instruction_eval import SPLITS as INSTRUCTION_SPLITS
    from evaluation.instruction_eval import evaluate_split, print_result
    from runtime.config import load_config
    from vigil.errors import ConfigError

    if understanding not in ("auto", "model", "rules"):
        raise ConfigError(f"unknown understanding {understanding!r}", hint="auto, model or rules")
    if split not in INSTRUCTION_SPLITS:
        raise ConfigError(f"unknown split {split!r}", hint="use " + ", ".join(INSTRUCTION_SPLITS))
    result = asyncio.run(evaluate_split(load_config(config), split, understanding))  # type: ignore[arg-type]
    print_result(result, console)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))


@eval_app.command("clarify")
def clarify(
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("eval-clarify"),
    interactcomp: Annotated[
        Path | None,
        typer.Option(
            "--interactcomp", help="InteractComp210.jsonl (decrypted in memory; else own set)."
        ),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="Own set: dev (tuned on) or test (never tuned on).")
    ] = "test",
    modes: Annotated[
        str,
        typer.Option(
            "--modes",
            help="Comma-separated: answer_only, search_only, ask_only, full, forced_ask, "
            "full_with_context (default: all).",
        ),
    ] = "",
    limit: Limit = None,
    max_rounds: Annotated[int, typer.Option("--max-rounds", help="Rounds per item.")] = 10,
    config: ConfigPath = None,
) -> None:
    """The clarify loop (ask, search, answer) in every mode: own set or InteractComp."""
    from evaluation.clarify_eval import SPLITS as CLARIFY_SPLITS
    from evaluation.clarify_eval import run_interactcomp, run_local
    from reaction.clarify import MODES
    from runtime.config import load_config
    from runtime.stages import build_backend, build_searchers, resolve_model_paths
    from vigil.errors import ConfigError

    chosen = [m.strip() for m in modes.split(",") if m.strip()] or list(MODES)
    if not chosen or any(m not in MODES for m in chosen):
        raise ConfigError(f"unknown mode in {modes!r}", hint="use " + ", ".join(MODES))
    if interactcomp is None and split not in CLARIFY_SPLITS:
        raise ConfigError(f"unknown split {split!r}", hint="use dev or test")
    settings = load_config(config)
    paths = resolve_model_paths(settings)

    async def main() -> dict[str, Any]:
        backend = build_backend(settings, paths)
        await backend.start()
        try:
            if interactcomp is None:
                return await run_local(
                    backend,
                    split,
                    chosen,  # type: ignore[arg-type]
                    out,
                    limit=limit,
                    max_rounds=max_rounds,
                )
            return await run_interactcomp(
                backend,
                interactcomp,
                chosen,  # type: ignore[arg-type]
                out,
                limit=limit,
                searchers=build_searchers(settings),
                max_rounds=max_rounds,
            )
        finally:
            await backend.stop()

    report = asyncio.run(main())
    table = Table(title=report["label"])
    columns = ("mode", "accuracy %", "exact %", "n", "asks %", "rounds", "calib. err.", "s/item")
    for column in columns:
        table.add_column(column)
    for mode, row in report["modes"].items():
        table.add_row(
            mode,
            f"{row['accuracy']:.1f}",
            f"{row['exact_accuracy']:.1f}",
            str(row["n"]),
            f"{row['interaction_rate']:.1f}",
            f"{row['rounds']:.2f}",
            f"{row['calibration_error']:.1f}",
            f"{row['seconds_per_item']:.1f}",
        )
    console.print(table)
    console.print(f"report: {out / 'report.json'}")


@eval_app.command("train-head")
def train_head(
    out: Annotated[Path, typer.Option("--out", "-o", help="Weights file to write.")] = Path(
        "respond-head.json"
    ),
    data: Annotated[Path, typer.Option("--data", help="Folder for the training clips.")] = Path(
        "proactive-train"
    ),
    clips: Annotated[
        int, typer.Option("--clips", help="Training clips (2 instructions each).")
    ] = 8,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the training set.")] = 5,
    config: ConfigPath = None,
) -> None:
    """Train the respond/silent head on a synthetic proactive set and calibrate its threshold.

    Use it with `decision.policy = "head"` and `decision.head = OUT`.
    """
    import ray

    from evaluation.head_training import train_head as train
    from runtime.config import load_config

    settings = load_config(config, perception={"partial_interval": None})
    ours = not ray.is_initialized()  # a cluster the caller started is theirs to stop
    try:
        head, figures = asyncio.run(train(settings, data, out, clips=clips, seed=seed))
    finally:
        if ours and ray.is_initialized():
            ray.shutdown()
    console.print(
        f"threshold {head.threshold:.2f}: on time {figures['on_time']:.0%}, missed "
        f"{figures['missed']:.0%}, spurious {figures['spurious']:.0%} (training clips)"
    )
    console.print(f"head: {out}")


def evaluate(
    annotations: list[Path],
    videos: Path,
    out: Path,
    mode: str,
    paced: bool,
    workers: int,
    context: float | None,
    address: str | None,
    config: Path | None,
    limit: int | None,
) -> None:
    """Load, run what the resume log lacks, report. Bad items are listed; the run goes on."""
    import ray

    from evaluation.report import build_report, score_table
    from evaluation.resultlog import ResultLog
    from evaluation.runs import run_queries
    from evaluation.suite import load_suite
    from runtime.config import load_config
    from vigil.errors import ConfigError

    if mode not in ("streaming", "polling", "offline"):
        raise ConfigError(f"unknown mode {mode!r}", hint="use streaming, polling or offline")
    # Benchmarks have no one talking over the answers: no barge-in, and so no partial
    # transcripts (their only use), which would cost Whisper time in every run.
    overrides: dict[str, dict[str, object]] = {
        "decision": {"barge_in": False},
        "perception": {"partial_interval": None},
        "clarify": {"enabled": False},  # nobody is there to answer a question back
    }
    if address:
        overrides["runtime"] = {"ray_address": address}
    settings = load_config(config, **overrides)
    suite = load_suite(annotations, videos)
    for problem in suite.problems:
        console.print(f"[yellow]skipped[/yellow] {problem.key}: {problem.message}")
    queries = suite.queries[:limit] if limit else suite.queries
    log = ResultLog(out / f"answers-{mode}.jsonl")
    console.print(
        f"[dim]{len(queries)} queries ({sum(log.done(q.key) for q in queries)} already done), "
        f"mode {mode}, {'paced' if paced else 'unpaced'}[/dim]"
    )
    ours = not ray.is_initialized() and not address  # a caller's cluster stays up
    try:
        runs = asyncio.run(
            run_queries(settings, queries, log, mode=mode, paced=paced, workers=workers,
                        context=context, console=console)  # type: ignore[arg-type]
        )  # fmt: skip
    finally:
        if ours and ray.is_initialized():
            ray.shutdown()
    meta = {"mode": mode, "paced": paced, "workers": workers, "context": context,
            "sample_rate_hz": settings.perception.sample_rate_hz,
            "files": [str(a) for a in annotations]}  # fmt: skip
    summary = build_report(suite, log, out, runs, meta)
    console.print(score_table(summary))
    speed = summary["speed"]
    if speed["media_seconds"]:
        console.print(
            f"speed: {speed['media_seconds']}s of media played in {speed['play_seconds']}s "
            f"({speed['realtime_factor_play']}x real time; {speed['realtime_factor_wall']}x "
            f"counting graph start and answers); {speed['sampled_frames_not_analysed']} of "
            f"{speed['sampled_frames']} sampled frames not analysed"
        )
    timing = summary["timing"]
    console.print(f"latency: {timing['latency_seconds']}; proactive: {timing['proactive']}")
    console.print(f"report: {out / 'index.html'}")
