"""Proactive timing of the two decision policies on a held-out synthetic proactive set.

The set (:mod:`evaluation.proactive_set`, a seed the head was not trained on) has two standing
instructions per clip, one waiting for a word and one for a card colour, each with a true
moment and an expected output. Every clip is played once per policy through the real graph
(streaming mode, unpaced, OCR settled so media timing matches a live run), and per policy:

- on time with the expected output: the first answer within 2 s of the true moment and
  containing the expected output (StreamingBench's Proactive Output rule), per instruction;
- on time: the same without looking at the text (the decision alone);
- spurious: answers that are not an instruction's first on-time answer, over all answers;
- missed: instructions never answered;
- timing error of first answers (p50, max) and answer latency p50.

Targets (issue 5): at least 80% on time with the expected output, at most 10% spurious.

    python -m bench.proactive [--clips 6] [--seed 23] [--head decision/heads/respond.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from evaluation.formats.streamingbench import load_streamingbench
from evaluation.head_training import WINDOW
from evaluation.proactive_set import build_proactive
from evaluation.queries import Query
from evaluation.resultlog import ResultLog
from evaluation.runs import run_queries
from evaluation.scoring import sb_proactive
from evaluation.timing import percentiles
from runtime.config import load_config
from vigil.cache import cache_dir

POLICIES = ("rules", "head")


def figures(queries: list[Query], log: ResultLog) -> dict[str, Any]:
    """The figures listed in the module docstring for one policy's answers."""
    right = on_time = missed = answers = spurious = 0
    errors: list[float] = []
    latency: list[float] = []
    for query in queries:
        record = log.answers.get(query.key, {})
        pushes = record.get("pushes", [])
        answers += len(pushes)
        if not pushes:
            missed += 1
            continue
        first = pushes[0]
        error = first["media"] - (query.expected_time or 0.0)
        errors.append(abs(error))
        latency += [p["latency"] for p in pushes if p.get("latency") is not None]
        timely = abs(error) <= WINDOW
        on_time += timely
        right += sb_proactive(first["media"], first["text"], query.expected_time, query.expected)
        spurious += len(pushes) - (1 if timely else 0)
    n = max(1, len(queries))
    return {
        "instructions": len(queries),
        "on_time_with_output": round(right / n, 3),
        "on_time": round(on_time / n, 3),
        "missed": round(missed / n, 3),
        "answers": answers,
        "spurious_share": round(spurious / max(1, answers), 3),
        "timing_error_seconds": percentiles(errors),
        "latency_seconds": percentiles(latency),
    }


async def measure(clips: int, seed: int, head: Path | None, out: Path) -> dict[str, Any]:
    made = build_proactive(cache_dir() / "bench" / "proactive", clips=clips, seed=seed)
    queries, problems, _ = load_streamingbench(made.annotations, made.root)
    if problems:
        raise SystemExit(f"the proactive set has problems: {problems[0].message}")
    results: dict[str, Any] = {"clips": clips, "seed": seed, "policies": {}}
    for policy in POLICIES:
        config = load_config(
            decision={"policy": policy, "head": head, "barge_in": False},
            perception={"partial_interval": None},
        )
        log_path = out.parent / f"bench-proactive-{policy}.jsonl"
        log_path.unlink(missing_ok=True)
        log = ResultLog(log_path)
        runs = await run_queries(config, queries, log, mode="streaming")
        results["policies"][policy] = figures(queries, log) | {
            "understood": sorted({tuple(u) for run in runs for u in run["understood"]}),
        }
    return results


def show(results: dict[str, Any]) -> None:
    table = Table(title=f"proactive timing, {results['clips']} held-out clips")
    table.add_column("figure")
    for policy in results["policies"]:
        table.add_column(policy, justify="right")
    rows = ("instructions", "on_time_with_output", "on_time", "missed", "answers", "spurious_share")
    for row in rows:
        table.add_row(row, *(str(p[row]) for p in results["policies"].values()))
    for row in ("timing_error_seconds", "latency_seconds"):
        table.add_row(
            f"{row} p50",
            *(str(p[row]["p50"]) for p in results["policies"].values()),
        )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--seed", type=int, default=23, help="Not the head's training seed.")
    parser.add_argument("--head", type=Path, default=None, help="Default: the packaged head.")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-proactive.json"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    import ray

    try:
        results = asyncio.run(measure(args.clips, args.seed, args.head, args.out))
    finally:
        if ray.is_initialized():
            ray.shutdown()
    show(results)
    args.out.write_text(json.dumps(results, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
