"""Running a suite: grouping, resume, progress bars and parallel runs over one Ray cluster.

Streaming and polling modes run one unit per video; offline mode one unit per query. Up to
``workers`` units run at once, each a graph of its own on the same Ray cluster (``--address``
spreads them over a multi-node cluster). Results are appended to the resume log per unit.
"""

from __future__ import annotations

import asyncio
import itertools
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from evaluation.offline import ask_offline
from evaluation.queries import Query
from evaluation.resultlog import ResultLog
from evaluation.streaming import stream_video
from runtime.config import VigilConfig
from runtime.graph import ensure_ray
from runtime.stages import resolve_model_paths
from vigil.errors import VigilError

__all__ = ["Mode", "run_queries"]

Mode = Literal["streaming", "polling", "offline"]


async def run_queries(
    config: VigilConfig,
    queries: Sequence[Query],
    log: ResultLog,
    *,
    mode: Mode = "streaming",
    paced: bool = False,
    workers: int = 1,
    context: float | None = None,
    console: Console | None = None,
) -> list[dict[str, Any]]:
    """Evaluate every query not yet in ``log``; returns the per-run statistics."""
    todo = [q for q in queries if not log.done(q.key)]
    units = _units(todo, mode)
    paths = resolve_model_paths(config)
    ensure_ray(config.runtime.ray_address)  # held by us, so runs share one cluster
    counter = itertools.count()
    gate = asyncio.Semaphore(max(1, workers))
    stats: list[dict[str, Any]] = []
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip
    clips = log.path.parent / "clips"

    async def one(unit: list[Query]) -> None:
        async with gate:
            stream_id = f"eval-{next(counter)}"
            try:
                if mode == "offline":
                    records = [
                        await ask_offline(config, unit[0], clips, context=context, paths=paths,
                                          stream_id=stream_id)
                    ]  # fmt: skip
                else:
                    records, run = await stream_video(
                        config, unit, paced=paced, polling=mode == "polling", paths=paths,
                        stream_id=stream_id,
                    )  # fmt: skip
                    stats.append({"video": str(unit[0].video), **run})
            except VigilError as error:
                records = [{"key": q.key, "error": str(error)} for q in unit]
            except Exception as error:  # one bad video must not end the whole evaluation
                message = "".join(traceback.format_exception_only(error)).strip()
                records = [{"key": q.key, "error": message} for q in unit]
            for record in records:
                record["mode"] = mode
            log.append(records)
            for record in records:
                if record.get("error") and console is not None:
                    console.print(f"[yellow]skipped[/yellow] {record['key']}: {record['error']}")
            progress.advance(task, len(unit))

    with progress:
        task = progress.add_task(f"{mode} ({len(units)} runs)", total=len(todo))
        await asyncio.gather(*(one(unit) for unit in units))
    return stats


def _units(queries: Sequence[Query], mode: Mode) -> list[list[Query]]:
    if mode == "offline":
        return [[q] for q in queries]
    by_video: dict[Path, list[Query]] = {}
    for query in queries:
        by_video.setdefault(query.video, []).append(query)
    return list(by_video.values())
