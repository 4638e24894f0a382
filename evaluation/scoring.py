"""The official scoring rules of OVO-Bench and StreamingBench, applied to result files.

Kept literal on purpose, quirks included, so that numbers compare with published ones:

- OVO-Bench multiple choice: the ground-truth letter appears anywhere in the response
  (``gt in response``); REC: the digits of the response, joined, equal the count; SSR and CRR:
  the response is exactly "Y"/"N", or contains "Yes"/"No", matching ``type``. Accuracy per
  task (forward tasks over all probes), the mean of task accuracies per category, and the
  overall score is the mean of the category means. All in percent.
- StreamingBench multiple choice: the first character of a non-empty response equals the
  answer letter; empty responses are not counted. Proactive Output: emitted within 2 s of
  ``ground_truth_time_stamp`` and containing ``ground_truth_output`` (the benchmark README's
  rule; the repository's ``count.py`` checks the time only). Accuracy per task and overall
  (pooled over questions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from statistics import mean
from typing import Any

from evaluation.formats.ovo import CATEGORIES
from evaluation.formats.streamingbench import seconds

__all__ = [
    "ovo_choice",
    "ovo_count",
    "ovo_scores",
    "ovo_yesno",
    "sb_choice",
    "sb_proactive",
    "sb_scores",
]


def ovo_choice(response: str | None, letter: str) -> int:
    return int(response is not None and letter in response)


def ovo_count(response: str | None, count: int) -> int:
    return int(response is not None and "".join(re.findall(r"\d+", response)) == str(count))


def ovo_yesno(response: str | None, kind: int) -> int:
    if response is None:
        return 0
    if (response == "N" and kind == 0) or (response == "Y" and kind == 1):
        return 1
    return int(("No" in response and kind == 0) or ("Yes" in response and kind == 1))


def ovo_scores(results: Mapping[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per-task accuracy, category means and the overall score of an OVO-Bench result file."""
    per_task: dict[str, list[int]] = {}
    for item in [*results.get("backward", []), *results.get("realtime", [])]:
        per_task.setdefault(item["task"], []).append(
            ovo_choice(item.get("response"), item["ground_truth"])
        )
    for item in results.get("forward", []):
        for info in item["test_info"]:
            if "response" not in info:
                continue
            response = info["response"]
            score = (
                ovo_count(response, info["count"])
                if item["task"] == "REC"
                else ovo_yesno(response, info["type"])
            )
            per_task.setdefault(item["task"], []).append(score)
    tasks = {task: 100 * mean(scores) for task, scores in per_task.items()}
    categories = {
        name: mean(tasks[t] for t in members if t in tasks)
        for name, members in CATEGORIES.items()
        if any(t in tasks for t in members)
    }
    return {
        "tasks": tasks,
        "counts": {task: len(scores) for task, scores in per_task.items()},
        "categories": categories,
        "overall": mean(categories.values()) if categories else None,
    }


def sb_choice(response: str, answer: str) -> int:
    return int(response[0] == answer)


def sb_proactive(answered: float | bool, output: str, due: float, expected: str) -> int:
    if answered is False or answered is None:
        return 0
    return int(abs(float(answered) - due) <= 2 and expected.lower() in output.lower())


def sb_scores(entries: Iterable[Mapping[str, Any]], model: str = "vigil") -> dict[str, Any]:
    """Per-task and overall accuracy (percent) of a StreamingBench result file."""
    per_task: dict[str, list[int]] = {}
    for entry in entries:
        for question in entry["questions"]:
            answer = question.get(model)
            if not answer:
                continue
            if "ground_truth_time_stamp" in question:
                history = answer["dialog_history"]
                score = sb_proactive(
                    answer["answered"],
                    history[-1]["content"] if history else "",
                    seconds(question["ground_truth_time_stamp"]),
                    question["ground_truth_output"],
                )
            else:
                score = sb_choice(answer, question["answer"])
            per_task.setdefault(question["task_type"], []).append(score)
    pooled = [s for scores in per_task.values() for s in scores]
    return {
        "tasks": {task: 100 * mean(scores) for task, scores in per_task.items()},
        "counts": {task: len(scores) for task, scores in per_task.items()},
        "overall": 100 * mean(pooled) if pooled else None,
    }
