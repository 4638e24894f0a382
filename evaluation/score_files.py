"""``vigil eval score``: official result files of any model, scored under the official rules.

Reads the files the benchmarks' own harnesses write (OVO-Bench: ``{"backward", "realtime",
"forward"}`` objects, often one file per task; StreamingBench: the question files with each
answer under the model's name) and merges them into one score. A file that cannot be read is
a warning, like a malformed record, so one bad file never hides the others' figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import typer

from evaluation.formats.ovo import CATEGORIES
from evaluation.scoring import ovo_summary, ovo_tally, sb_summary, sb_tally
from evaluation.tally import Tally
from vigil.errors import ConfigError

__all__ = ["BENCHMARKS", "print_score", "render", "score_files"]

BENCHMARKS = ("ovo-bench", "streamingbench")

# Every key the StreamingBench annotation files give a question, plus "results", which the
# official streaming harness writes beside the answer; any other key is a model's answer.
_QUESTION_KEYS = frozenset(
    {"task_type", "question", "time_stamp", "answer", "options", "required_ability",
     "ground_truth_time_stamp", "ground_truth_output", "audio_path", "time", "cause", "effect",
     "results"}
)  # fmt: skip
_TITLES = {
    "backward": "Backward Tracing",
    "realtime": "Real-Time Visual Perception",
    "forward": "Forward Active Responding",
}


def print_score(
    benchmark: str, paths: Sequence[Path], model: str | None = None, as_json: bool = False
) -> None:
    """Score ``paths`` and print the result (text or JSON) on stdout, warnings on stderr.

    Warnings go to stderr so that ``--json`` output stays one parseable object on stdout.
    """
    score = score_files(benchmark, paths, model)
    for warning in score["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(json.dumps(score, indent=2) if as_json else render(score))
    if not score["items"]:
        raise ConfigError("nothing was scored", hint="pass official result files of this benchmark")


def score_files(benchmark: str, paths: Sequence[Path], model: str | None = None) -> dict[str, Any]:
    """The merged score of ``paths``: tasks, counts, categories (OVO-Bench), overall, warnings.

    ``model`` names the StreamingBench answer key; without it each file's one non-annotation
    key is used, and a file with several asks for it.
    """
    if benchmark not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {benchmark!r}", hint=f"use {' or '.join(BENCHMARKS)}")
    tally = Tally()
    models: list[str] = []
    for path in paths:
        data = _read(path, tally)
        if data is None:
            continue
        if benchmark == "ovo-bench":
            ovo_tally(data, str(path), tally)
        elif name := model or _model(data, path, tally):
            models += [] if name in models else [name]
            sb_tally(data, name, str(path), tally)
    summary = ovo_summary(tally) if benchmark == "ovo-bench" else sb_summary(tally)
    extra = {"models": models} if benchmark == "streamingbench" else {}
    return {"benchmark": benchmark, "files": [str(p) for p in paths], **extra, **summary}


def _read(path: Path, tally: Tally) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        tally.warn(str(path), f"cannot be read as JSON ({error}); skipped")
        return None


def _model(data: Any, path: Path, tally: Tally) -> str | None:
    found = sorted({key for question in _questions(data) for key in question} - _QUESTION_KEYS)
    if len(found) > 1:
        raise ConfigError(
            f"{path} holds answers of several models: {', '.join(found)}",
            hint="pass --model NAME",
        )
    if not found:
        tally.warn(str(path), "no model answers found (no key beside the annotation's); skipped")
        return None
    return found[0]


def _questions(data: Any) -> Iterator[Mapping[str, Any]]:
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, list):
            yield from _questions(entry)
        elif isinstance(entry, Mapping) and isinstance(entry.get("questions"), list):
            yield from (q for q in entry["questions"] if isinstance(q, Mapping))


def render(score: Mapping[str, Any]) -> str:
    """The score as aligned text: per task, per category (OVO-Bench), overall, and warnings."""
    tasks = score["tasks"]
    width = max([30, *(len(task) + 3 for task in tasks)])
    models = f" (model {', '.join(score['models'])})" if score.get("models") else ""
    files = len(score["files"])
    lines = [f"{score['benchmark']}: {score['items']} scored items from {files} files{models}"]
    if "categories" in score:
        for category, value in score["categories"].items():
            lines.append(f"{_TITLES[category]:<{width}} {value:6.2f}")
            lines += _task_lines(score, _members(tasks, category), width)
    else:
        lines += _task_lines(score, list(tasks), width)
    overall = score["overall"]
    lines.append(f"{'Overall':<{width}} {overall:6.2f}" if overall is not None else "Overall: -")
    if score["warnings"]:
        lines.append(f"{len(score['warnings'])} warnings (on stderr)")
    return "\n".join(lines)


def _task_lines(score: Mapping[str, Any], tasks: list[str], width: int) -> list[str]:
    return [
        f"  {task:<{width - 2}} {score['tasks'][task]:6.2f}  n={score['counts'][task]}"
        for task in tasks
    ]


def _members(tasks: Mapping[str, float], category: str) -> list[str]:
    return [t for t in tasks if t in CATEGORIES[category] or t.endswith(f" ({category})")]
