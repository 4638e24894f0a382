"""StreamingBench: ``questions_{real,omni,sqa,proactive}[_stream].json`` read as they are.

Each file is a list of videos, each with its questions (``questions_sqa.json`` nests them one
level deeper). Multiple-choice questions are asked once at ``time_stamp``; sequential QA (and
only it: the other files' questions stand alone) puts the earlier questions of the video with
their gold answers before the question, as the official code does; Proactive Output questions
are polled every second from ``time_stamp + 1`` to ``ground_truth_time_stamp + 4`` (offline,
polling) or registered once as a standing
instruction (streaming). Results are written back in place: ``question[model] = response``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from evaluation.queries import Problem, Query, choice_prompt
from evaluation.videos import locate, video_problem
from vigil.errors import ConfigError

__all__ = ["load_streamingbench", "seconds", "streamingbench_results"]


def seconds(stamp: str) -> float:
    """``"HH:MM:SS"`` (or ``MM:SS``) as seconds, the way the official code converts it."""
    return float(sum(int(x) * 60**i for i, x in enumerate(reversed(stamp.split(":")))))


def load_streamingbench(
    path: Path, videos: Path
) -> tuple[list[Query], list[Problem], list[dict[str, Any]]]:
    """Queries of every usable question, a problem per unusable one, and the flat video list."""
    entries = _read(path)
    category = path.stem.split("_")[1] if "_" in path.stem else path.stem
    sequential = category == "sqa"  # only sequential QA carries the earlier answers
    queries: list[Query] = []
    problems: list[Problem] = []
    for v, entry in enumerate(entries):
        history = ""
        for q, question in enumerate(entry.get("questions", [])):
            key = f"sb:{path.stem}:{v}:{q}"
            try:
                query = _query(question, entry, key, category, videos, history, v, q)
                if "options" in question and sequential:
                    history += _history_line(question)
            except (KeyError, TypeError, ValueError, IndexError) as error:
                problems.append(Problem(key, f"question {q} of video {v} is malformed: {error!r}"))
                continue
            latest = max((query.at, *query.polls))
            if problem := video_problem(query.video, latest):
                problems.append(Problem(key, problem))
                continue
            queries.append(query)
    return queries, problems, entries


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read StreamingBench questions {path}: {error}") from error
    entries = list(_flatten(data)) if isinstance(data, list) else None
    if not entries or not all(
        isinstance(e, dict) and "video_path" in e and "questions" in e for e in entries
    ):
        raise ConfigError(
            f"{path} is not a StreamingBench question file (a list of videos with "
            "'video_path' and 'questions')",
            hint="pass one of questions_real/omni/sqa/proactive(.json|_stream.json)",
        )
    return entries


def _flatten(data: list[Any]) -> Iterator[Any]:
    for element in data:
        if isinstance(element, list):
            yield from _flatten(element)
        else:
            yield element


def _history_line(question: Mapping[str, Any]) -> str:
    letter = question["answer"]
    options = question["options"]
    text = next((o for o in options if o.startswith(f"{letter}.")), None)
    text = text or f"{letter}. {options['ABCD'.index(letter)]}"
    return f"Earlier question: {question['question']} Answer: {text}\n"


def _query(
    question: Mapping[str, Any],
    entry: Mapping[str, Any],
    key: str,
    category: str,
    videos: Path,
    history: str,
    v: int,
    q: int,
) -> Query:
    common = {
        "key": key,
        "benchmark": "streamingbench",
        "task": question["task_type"],
        "category": category,
        "video": locate(videos, entry["video_path"]),
        "at": seconds(question["time_stamp"]),
        "source": v,
        "question": q,
    }
    if "options" in question:
        return Query(
            prompt=choice_prompt(question["question"], list(question["options"]), history),
            rule="choice",
            expected=str(question["answer"]),
            **common,
        )
    due = seconds(question["ground_truth_time_stamp"])
    output = str(question["ground_truth_output"])
    start = int(common["at"])
    return Query(
        prompt=(
            f'{question["question"]} Is it the right time to output "{output}"? '
            "If it is, answer yes and give the output; if not, answer no."
        ),
        rule="proactive",
        expected=output,
        expected_time=due,
        instruction=str(question["question"]),
        polls=tuple(float(t) for t in range(start + 1, int(due) + 5)),
        **common,
    )


def streamingbench_results(
    entries: list[dict[str, Any]],
    queries: list[Query],
    answers: Mapping[str, Mapping[str, Any]],
    model: str = "vigil",
) -> list[dict[str, Any]]:
    """The official result file: the video list with ``question[model]`` filled in.

    A multiple-choice answer is the response text; a proactive answer is the official
    ``{"answered": second or False, "dialog_history": [...]}`` record.
    """
    out = json.loads(json.dumps(entries))  # a deep copy of plain JSON
    for query in queries:
        answer = answers.get(query.key)
        if answer is None or query.question is None:
            continue
        question = out[query.source]["questions"][query.question]
        if query.rule == "proactive":
            emitted = answer.get("emitted_at")
            question[model] = {
                "answered": emitted if emitted is not None else False,
                "dialog_history": [
                    {"role": "assistant", "content": answer.get("response") or "", "time": emitted}
                ],
            }
        else:
            question[model] = answer.get("response") or ""
    return out
