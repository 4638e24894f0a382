"""Questions that come with options, answered as one of the options.

A benchmark item, or a user's "--ask 'Which gate? A. 12 B. 14'", offers lettered options. A
small model asked to "answer with the letter" often writes something else (the previous
question's option, a sentence, a wrong letter it copied from the timeline), so the answer is
chosen, not generated: the backend scores each option (the letter as the first token of the
reply, or each option's whole text), and the best is the answer.

The scores may be combined with how well each option matches what perception recorded
(:func:`support`): an option whose words were read on screen, heard, or whose colour was
seen gains ``weight`` per unit of support. That prior is kept small and measured, because
distractor options are often things that were seen too, only at another time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from reaction.sightings import squash

__all__ = ["Choices", "parse_choices", "support"]

_LETTERS = "ABCDEFGH"
_LISTED = re.compile(r"^\s*\(?([A-H])[.):]\s+(.+?)\s*$", re.MULTILINE)
_INLINE = re.compile(r"(?:^|\s)\(?([A-H])[.)]\s+")
_INSTRUCTION = re.compile(
    r"\s*(?:please\s+)?(?:answer|reply|respond)\b[^\n]*\b(?:letter|option)\b[^\n]*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset((
    "a", "an", "the", "of", "on", "in", "at", "to", "and", "or", "is", "are", "was", "were",
    "it", "its", "this", "that", "with", "by", "for", "from", "as", "be", "what", "which",
    "who", "whom", "whose", "when", "where", "how", "did", "does", "do",
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Choices:
    """``stem`` is the question without its options; ``options`` their texts, lettered by
    position (A, B, ...)."""

    stem: str
    options: tuple[str, ...]

    @property
    def letters(self) -> tuple[str, ...]:
        return tuple(_LETTERS[: len(self.options)])

    def label(self, index: int) -> str:
        """How an answer states the option: "B. GATE 14"."""
        return f"{self.letters[index]}. {self.options[index]}"


def _consecutive(letters: Sequence[str]) -> bool:
    return len(letters) >= 2 and "".join(letters) == _LETTERS[: len(letters)]


def parse_choices(text: str) -> Choices | None:
    """The options of a question, listed one per line ("A. ...") or inline ("... A. x B. y"),
    or None when it offers none."""
    body = _INSTRUCTION.sub("", text.strip())
    listed = _LISTED.findall(body)
    if _consecutive([letter for letter, _ in listed]):
        first = _LISTED.search(body)
        assert first is not None
        stem = re.sub(r"\s*Options:\s*$", "", body[: first.start()].strip(), flags=re.I)
        return Choices(stem.strip(), tuple(option.strip() for _, option in listed))
    marks = list(_INLINE.finditer(body))
    for start in range(len(marks)):
        run = marks[start:]
        letters = [m.group(1) for m in run]
        if not _consecutive(letters):
            continue
        ends = [m.start() for m in run[1:]] + [len(body)]
        options = tuple(
            body[m.end() : end].strip().rstrip(",;") for m, end in zip(run, ends, strict=True)
        )
        if all(options):
            return Choices(body[: run[0].start()].strip(), options)
    return None


def _content(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _holds(option: str, line: str) -> bool:
    """Whether ``line`` mentions ``option`` (as words, or squashed for OCR's slips)."""
    words = _content(option)
    if words and all(re.search(rf"\b{re.escape(w)}\b", line.lower()) for w in words):
        return True
    squashed = squash(option)
    return len(squashed) >= 3 and squashed in squash(line)


_NOW = re.compile(r"\b(?:now|right now|currently|at the moment|at this moment|at present)\b", re.I)


def support(option: str, question: str, lines: Sequence[str], now: str = "") -> float:
    """How strongly what perception recorded backs ``option`` up as the answer (0..1).

    An option backs itself up in a line that also holds the question's own words ("Who
    mentioned the passport?": "Emma said: My passport is in the kitchen."), the more of them
    (rarer words weighing more) the stronger; a question about the present is backed up by
    the latest observation (``now``) holding the option.
    """
    if now and _NOW.search(question) and _holds(option, now):
        return 1.0
    lowered = [line.lower() for line in lines]
    found = {t: sum(t in line for line in lowered) for t in set(_content(question))}
    # Words the notes never hold ("mentioned", "which") cannot tell options apart.
    terms = {t for t, n in found.items() if n}
    if not terms:
        return 0.0
    weight = {t: math.log(1 + len(lines) / (1 + found[t])) for t in terms}
    total = sum(weight.values())
    best = 0.0
    for line, low in zip(lines, lowered, strict=True):
        if _holds(option, line):
            best = max(best, sum(w for t, w in weight.items() if t in low) / total)
    return best
