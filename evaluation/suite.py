"""A set of benchmark files read together: the queries, the bad items, and the result writers."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.formats.ovo import load_ovo, ovo_results
from evaluation.formats.streamingbench import load_streamingbench, streamingbench_results
from evaluation.queries import Problem, Query
from evaluation.scoring import ovo_scores, sb_scores
from vigil.errors import ConfigError

__all__ = ["BenchmarkFile", "Suite", "load_suite"]

Answers = Mapping[str, Mapping[str, Any]]


@dataclass(slots=True)
class BenchmarkFile:
    """One annotation file: its queries, and how to write and score its official results."""

    path: Path
    benchmark: str
    queries: list[Query]
    write: Callable[[Answers], Any]
    score: Callable[[Any], dict[str, Any]]


@dataclass(slots=True)
class Suite:
    files: list[BenchmarkFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def queries(self) -> list[Query]:
        return [q for f in self.files for q in f.queries]


def load_suite(paths: list[Path], videos: Path) -> Suite:
    """Read each file in the format its content shows (OVO-Bench or StreamingBench)."""
    suite = Suite()
    for path in paths:
        if _is_ovo(path):
            queries, problems, records = load_ovo(path, videos)

            def write(answers: Answers, r: Any = records, q: list[Query] = queries) -> Any:
                responses = {k: a.get("response") for k, a in answers.items() if not a.get("error")}
                return ovo_results(r, q, responses)

            suite.files.append(BenchmarkFile(path, "ovo-bench", queries, write, ovo_scores))
        else:
            queries, problems, entries = load_streamingbench(path, videos)

            def write_sb(answers: Answers, e: Any = entries, q: list[Query] = queries) -> Any:
                return streamingbench_results(e, q, answers)

            suite.files.append(BenchmarkFile(path, "streamingbench", queries, write_sb, sb_scores))
        suite.problems.extend(problems)
    return suite


def _is_ovo(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read annotation file {path}: {error}") from error
    return isinstance(data, list) and bool(data) and isinstance(data[0], dict) and "task" in data[0]
