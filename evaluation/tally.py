"""Right or wrong per scored item, and a warning per malformed one, across result files.

Scoring adds items file by file to one tally, so that files split per task (as OVO-Bench
publishes them) merge the way the official scorer concatenates them, while every warning still
names the file it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tally", "text_problem"]


@dataclass(slots=True)
class Tally:
    """1 (right) or 0 (wrong) per item under ``(category, task)``, in the order first seen."""

    scores: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add(self, category: str, task: str, score: int) -> None:
        self.scores.setdefault((category, task), []).append(score)

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{where}: {message}")

    def wrong(self, where: str, problem: str) -> int:
        """Warn that a malformed item counts as wrong, and return its score (0)."""
        self.warn(where, f"{problem}; counted wrong")
        return 0


def text_problem(record: Mapping[str, Any], key: str, *, empty: bool = False) -> str | None:
    """What keeps ``record[key]`` from being a response string, or None if it is one.

    A list (one model's batch output), a number, a null or a missing key are all problems;
    ``empty=True`` makes an empty string one too (StreamingBench reads its first character).
    """
    if key not in record:
        return f"no {key!r}"
    value = record[key]
    if value is None:
        return f"{key!r} is null"
    if not isinstance(value, str):
        return f"{key!r} is a {type(value).__name__}, not a string"
    if empty and not value:
        return f"{key!r} is empty"
    return None
