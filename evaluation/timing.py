"""When answers came, which neither benchmark's own code measures.

For questions: media delay (answer's media time minus the question's) and wall latency (end of
question to first token). For pushed answers (Proactive Output): timing error against the due
time, early or late beyond the official 2 s tolerance, missed (nothing pushed), spurious
(pushes beyond the first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import median
from typing import Any

from evaluation.queries import Query

__all__ = ["TOLERANCE", "percentiles", "timing_summary"]

TOLERANCE = 2.0


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
    }


def timing_summary(
    queries: Sequence[Query], answers: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    latency: list[float] = []
    delay: list[float] = []
    errors: list[float] = []
    counts = {"due": 0, "on_time": 0, "early": 0, "late": 0, "missed": 0, "spurious": 0}
    for query in queries:
        answer = answers.get(query.key)
        if not answer or answer.get("error"):
            continue
        if answer.get("latency") is not None:
            latency.append(answer["latency"])
        if answer.get("emitted_at") is not None and query.rule != "proactive":
            delay.append(answer["emitted_at"] - query.at)
        if query.expected_time is None:
            continue
        counts["due"] += 1
        counts["spurious"] += max(0, len(answer.get("pushes", [])) - 1)
        if answer.get("emitted_at") is None:
            counts["missed"] += 1
            continue
        error = answer["emitted_at"] - query.expected_time
        errors.append(error)
        side = "early" if error < -TOLERANCE else "late" if error > TOLERANCE else "on_time"
        counts[side] += 1
    return {
        "latency_seconds": percentiles(latency),
        "media_delay_seconds": percentiles(delay),
        "timing_error_seconds": percentiles([abs(e) for e in errors]),
        "proactive": counts,
        "raw": {"latency": latency, "timing_error": errors},
    }
