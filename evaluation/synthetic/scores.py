"""A synthetic run scored per kind of question, from the set's truth file and the answer log.

The official scorers report per benchmark task; the synthetic set knows more about each
question (``sign_text``, ``said_room``, ``order_next``, ...), so it is scored by that too:

- a multiple-choice question is right when the answer's letter is the true option's;
- a standing instruction is on time when its first answer comes within 2 s of the true moment
  and contains the expected output (StreamingBench's Proactive Output rule, case kept);
  every other answer it got is spurious;
- overall pools every question, multiple choice and proactive alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from statistics import median
from typing import Any

__all__ = ["kind_scores"]

_LETTERS = "ABCDEFGH"
WINDOW = 2.0


def _choice_right(item: Mapping[str, Any], record: Mapping[str, Any] | None) -> bool:
    response = (record or {}).get("response")
    if not isinstance(response, str) or not response.strip():
        return False
    return response.strip()[0] == _LETTERS[int(item["answer"])]


def _proactive(item: Mapping[str, Any], record: Mapping[str, Any] | None) -> tuple[bool, int, int]:
    """(on time with the output, spurious answers, all answers) of one instruction."""
    pushes = list((record or {}).get("pushes") or [])
    if not pushes:
        return False, 0, 0
    first = pushes[0]
    right = abs(float(first["media"]) - float(item["due"])) <= WINDOW and str(
        item["output"]
    ) in str(first.get("text") or "")
    return right, len(pushes) - int(right), len(pushes)


def kind_scores(truth: Path, answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy per kind and overall, proactive timing, and answer latency (seconds)."""
    per_kind: dict[str, list[bool]] = {}
    proactive: list[bool] = []
    spurious = pushes = 0
    latencies: list[float] = []
    for clip in json.loads(truth.read_text())["clips"]:
        for item in clip["items"]:
            record = answers.get(item["key"])
            if item.get("due") is not None:
                right, wrong, total = _proactive(item, record)
                proactive.append(right)
                spurious += wrong
                pushes += total
            else:
                right = _choice_right(item, record)
                if record and record.get("latency") is not None:
                    latencies.append(float(record["latency"]))
            per_kind.setdefault(item["kind"], []).append(right)
    pooled = [r for rs in per_kind.values() for r in rs]
    return {
        "kinds": {k: {"n": len(v), "accuracy": 100 * sum(v) / len(v)} for k, v in per_kind.items()},
        "overall": 100 * sum(pooled) / len(pooled) if pooled else None,
        "n": len(pooled),
        "proactive_on_time": 100 * sum(proactive) / len(proactive) if proactive else None,
        "proactive_spurious": 100 * spurious / pushes if pushes else 0.0,
        "answer_latency_p50": median(latencies) if latencies else None,
    }
