"""OVO-Bench: ``ovo_bench_new.json`` read as it is, and results written in its official format.

Backward and real-time records are multiple choice asked once at ``realtime``; forward records
(REC, SSR, CRR) are asked again at every ``test_info`` probe, as the official code does. In
streaming mode a forward record becomes one standing instruction instead, and each probe is
answered from what the agent pushed before it (see :mod:`evaluation.streaming`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluation.queries import LETTERS, Problem, Query, choice_prompt
from evaluation.videos import locate, video_problem
from vigil.errors import ConfigError

__all__ = ["CATEGORIES", "load_ovo", "ovo_results"]

CATEGORIES: dict[str, tuple[str, ...]] = {
    "backward": ("EPM", "ASI", "HLD"),
    "realtime": ("OCR", "ACR", "ATR", "STU", "FPD", "OJR"),
    "forward": ("REC", "SSR", "CRR"),
}
_CATEGORY_OF = {task: category for category, tasks in CATEGORIES.items() for task in tasks}


def load_ovo(path: Path, videos: Path) -> tuple[list[Query], list[Problem], list[dict[str, Any]]]:
    """Queries of every usable record, a problem per unusable one, and the records themselves.

    A file that is not a list of records is rejected as a whole; a record with missing fields,
    a missing video or a question time past the video's end is reported and skipped.
    """
    records = _read(path)
    queries: list[Query] = []
    problems: list[Problem] = []
    for index, record in enumerate(records):
        key = f"ovo:{record.get('id', index) if isinstance(record, dict) else index}"
        try:
            made = _queries(record, index, key, videos)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            problems.append(Problem(key, f"record {index} of {path.name} is malformed: {error!r}"))
            continue
        latest = max(q.at for q in made)
        if problem := video_problem(made[0].video, latest):
            problems.append(Problem(key, problem))
            continue
        queries.extend(made)
    return queries, problems, records


def _read(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read OVO-Bench annotations {path}: {error}") from error
    if not isinstance(data, list) or not all(isinstance(r, dict) and "task" in r for r in data):
        raise ConfigError(
            f"{path} is not an OVO-Bench annotation file (a JSON list of records with 'task')",
            hint="pass ovo_bench_new.json from the OVO-Bench repository",
        )
    return data


def _queries(record: Mapping[str, Any], index: int, key: str, videos: Path) -> list[Query]:
    task = record["task"]
    category = _CATEGORY_OF[task]
    common = {
        "benchmark": "ovo-bench",
        "task": task,
        "category": category,
        "video": locate(videos, record["video"]),
        "source": index,
    }
    if category != "forward":
        options = list(record["options"])
        return [
            Query(
                key=key,
                at=float(record["realtime"]),
                prompt=choice_prompt(record["question"], options),
                rule="choice",
                expected=LETTERS[int(record["gt"])],
                **common,
            )
        ]
    made = []
    for probe, info in enumerate(record["test_info"]):
        prompt, instruction, expected = _forward(record, info)
        made.append(
            Query(
                key=f"{key}#{probe}",
                at=float(info["realtime"]),
                prompt=prompt,
                rule="count" if task == "REC" else "yesno",
                expected=expected,
                instruction=instruction,
                probe=probe,
                **common,
            )
        )
    if not made:
        raise ValueError("forward record without test_info probes")
    return made


def _forward(record: Mapping[str, Any], info: Mapping[str, Any]) -> tuple[str, str, str]:
    """(probe prompt, standing instruction, expected answer) of one forward probe."""
    match record["task"]:
        case "REC":
            activity = record["activity"]
            return (
                f"Count how many times the people in the video have done this so far: "
                f"{activity}. Answer with one number only.",
                f"Tell me every time someone does this: {activity}.",
                str(int(info["count"])),
            )
        case "SSR":
            step = info["step"]
            return (
                f"This is a tutorial video. Is the person carrying out this step right now: "
                f"{step}? Answer only Yes or No.",
                f"Tell me when the person starts this step: {step}.",
                str(int(info["type"])),
            )
        case _:  # CRR
            question = record["question"]
            return (
                f"{question} Does the video so far show enough to answer this question? "
                f"Answer only Yes or No.",
                f"Tell me as soon as the video shows enough to answer: {question}",
                str(int(info["type"])),
            )


def ovo_results(
    records: list[dict[str, Any]], queries: list[Query], responses: Mapping[str, str | None]
) -> dict[str, list[dict[str, Any]]]:
    """The official result file: annotation records plus ``response`` (and ``ground_truth``).

    Only records with at least one answered query are written, so that a partial run scores
    what it has, as the official scorer would.
    """
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in CATEGORIES}
    by_source: dict[int, list[Query]] = {}
    for query in queries:
        if query.key in responses:
            by_source.setdefault(query.source, []).append(query)
    for source, answered in sorted(by_source.items()):
        record = json.loads(json.dumps(records[source]))  # a deep copy of plain JSON
        first = answered[0]
        if first.category == "forward":
            for query in answered:
                assert query.probe is not None
                record["test_info"][query.probe]["response"] = responses[query.key]
        else:
            record["response"] = responses[first.key]
            record["ground_truth"] = first.expected
        out[first.category].append(record)
    return out
