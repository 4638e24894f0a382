"""The unit of evaluation: one question put to the agent at one media time.

Both benchmarks are read into :class:`Query` objects so that every mode (offline, streaming,
polling), the resume log and the report deal with one shape. A query keeps where it came from
(``source`` record index, ``probe`` index) so that answers can be written back into the
benchmark's own result format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["LETTERS", "Problem", "Query", "Rule", "choice_prompt"]

LETTERS = "ABCDEFGH"

Rule = Literal["choice", "count", "yesno", "proactive"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One question at one media time, with what the official rule needs to score it.

    ``prompt`` is the text given to the agent (options and the letter instruction included);
    ``instruction`` is the standing instruction used instead in streaming mode for forward
    and proactive tasks; ``expected`` is a letter, a count, "1"/"0" (yes/no) or the proactive
    output, and ``expected_time`` the media second a proactive answer is due.
    """

    key: str
    benchmark: Literal["ovo-bench", "streamingbench"]
    task: str
    category: str
    video: Path
    at: float
    prompt: str
    rule: Rule
    expected: str
    expected_time: float | None = None
    instruction: str | None = None
    source: int = 0
    question: int | None = None
    probe: int | None = None
    polls: tuple[float, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Problem:
    """An item that cannot be evaluated, and why (reported per item; the run goes on)."""

    key: str
    message: str


def choice_prompt(question: str, options: list[str], history: str = "") -> str:
    """A multiple-choice question worded so that a small chat model answers with a letter.

    Options already lettered ("A. ...", as in StreamingBench) keep their letters; the
    instruction comes last, where small models follow it best.
    """
    letters = LETTERS[: len(options)]
    lines = [
        option if option[:2] == f"{letter}." else f"{letter}. {option}"
        for letter, option in zip(letters, options, strict=True)
    ]
    choices = ", ".join(letters[:-1]) + f" or {letters[-1]}"
    return (
        f"{history}{question}\nOptions:\n" + "\n".join(lines) + "\n"
        f"Answer with the letter ({choices}) of the correct option only."
    )
