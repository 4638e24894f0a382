"""Lines of the timeline chosen by the question: evidence older than the prompt's window.

The prompt holds the newest part of the timeline that fits its budget, so that it can be
evaluated ahead of time. A question about something older ("which room did Carlos say the
meeting moved to?", "what did the first sign say?") needs lines that fell out of that window.
They are chosen here by what the question and its options name, weighted by how rare each
word is in the stream (a word that is on every line, like "people", tells nothing), with OCR's
slips forgiven, and put after the cached state so that the common case keeps its prefix.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from typing import Protocol, TypeVar

__all__ = ["TimedLine", "select_evidence"]

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset((
    "a", "an", "the", "of", "on", "in", "at", "to", "and", "or", "is", "are", "was", "were",
    "be", "been", "it", "its", "this", "that", "these", "those", "with", "by", "for",
    "from", "as", "what", "which", "who", "whom", "whose", "when", "where", "how", "why",
    "did", "does", "do", "done", "say", "said", "says", "seen", "see", "shown", "show",
    "screen", "now", "earlier", "first", "last", "time", "t", "s", "you", "your", "there",
    "their", "they", "he", "she", "his", "her", "someone", "anyone", "something", "people",
    "person", "faces", "face", "mostly", "text", "video", "answer", "option", "letter",
    "correct", "only", "one",
))  # fmt: skip


class TimedLine(Protocol):
    @property
    def time(self) -> float: ...

    @property
    def text(self) -> str: ...


L = TypeVar("L", bound=TimedLine)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS and not w.isdigit()}


def _match(term: str, words: set[str]) -> bool:
    """Exact, or a close spelling for longer words (OCR and ASR slips, plurals)."""
    if term in words:
        return True
    if len(term) < 4:
        return False
    return any(
        abs(len(w) - len(term)) <= 2 and SequenceMatcher(None, term, w).ratio() >= 0.8
        for w in words
    )


def select_evidence(
    question: str,
    lines: Sequence[L],
    *,
    budget_tokens: int,
    count: Callable[[str], int],
    limit: int = 12,
) -> list[L]:
    """The lines (oldest first) that best match ``question``, within ``budget_tokens``."""
    terms = _words(question)
    if not terms or not lines:
        return []
    bags = [_words(line.text) for line in lines]
    frequency = Counter(word for bag in bags for word in bag)
    n = len(lines)
    weights = {term: math.log(1 + n / (1 + frequency.get(term, 0))) for term in terms}
    scored = []
    for index, bag in enumerate(bags):
        score = sum(weight for term, weight in weights.items() if _match(term, bag))
        if score > 0:
            scored.append((score, lines[index].time, index))
    chosen: list[int] = []
    left = budget_tokens
    for _, _, index in sorted(scored, key=lambda s: (-s[0], -s[1])):
        cost = count(lines[index].text) + 1
        if cost > left or len(chosen) >= limit:
            continue
        chosen.append(index)
        left -= cost
    return [lines[i] for i in sorted(chosen)]
