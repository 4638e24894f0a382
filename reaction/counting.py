"""How many of something perception recorded, offered as evidence for a "how many" question.

Small models read "Voices heard (3): ..." and still answer 2: counting over a list is not what
they do well, and perception has already counted. So, as :mod:`reaction.sightings` does for
time, the count is made here for the thing the question names, and the option that states it
is backed up:

- voices: speakers, voices, or people who spoke, talked or said something: distinct speakers
  of the final utterances so far (an unidentified one counts once);
- large texts: cards, boards, posters, placards, banners (things held up to be read): distinct
  texts whose lines were read at least ``LARGE_TEXT`` of the frame's height, on something that
  covers less than ``FILLS_VIEW`` of the frame (a word on a slide or a panel that fills the view
  is on a screen, not on a card);
- texts: signs, words, texts, captions, labels: distinct texts of any size;
- faces, then people: as many as are in view in the latest observation.

Texts are counted over the whole stream so far ("how many cards have been shown?") unless
the question asks about the present only ("how many words are on screen now?"). Readings of
one text that OCR spelled a little differently count once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher

from reaction.sightings import is_present, squash
from vigil.items import Observation, Utterance

__all__ = ["FILLS_VIEW", "LARGE_TEXT", "count_support", "option_number"]

LARGE_TEXT = 0.06
"""A text line at least this share of the frame's height counts as large (a card held up reads
about a tenth of it, a plate in a corner a twentieth)."""

FILLS_VIEW = 0.4
"""What a text is written on fills the view (a slide, a panel, a screen) when it covers at
least this share of the frame; a card held up covers a sixth or so (see
:mod:`perception.backdrop`)."""

_HOW_MANY = re.compile(r"\b(?:how many|number of|count|tally)\b", re.IGNORECASE)
_SINCE = re.compile(
    r"\b(?:so far|until|up to|up till|since|till now|have been|has been|have (?:appeared|"
    r"shown|come)|in total|altogether|overall)\b",
    re.IGNORECASE,
)
_VOICES = re.compile(
    r"\b(?:speakers?|voices?|talkers?)\b|\b(?:people|persons|individuals|participants|"
    r"different (?:people|persons))\b.*\b(?:spoken|spoke|speak|talked|talk|said|say|heard|"
    r"speaking|talking|something)\b",
    re.IGNORECASE,
)
_LARGE = re.compile(r"\b(?:cards?|boards?|posters?|placards?|banners?)\b", re.IGNORECASE)
_TEXTS = re.compile(
    r"\b(?:signs?|texts?|words?|captions?|labels?|plates?|writings?)\b", re.IGNORECASE
)
_FACES = re.compile(r"\bfaces?\b", re.IGNORECASE)
_PEOPLE = re.compile(r"\b(?:people|persons|individuals|humans|men|women)\b", re.IGNORECASE)

_NUMBERS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)  # fmt: skip
_UNHEARD = ("", "unknown", "speaker")


def option_number(option: str) -> int | None:
    """The whole number an option states ("3", "three", "3 people"), or None."""
    words = re.findall(r"[a-z]+|\d+", option.lower())
    if not words:
        return None
    first = words[0]
    if first.isdigit():
        return int(first)
    return _NUMBERS.index(first) if first in _NUMBERS else None


def _near(a: str, b: str) -> bool:
    return min(len(a), len(b)) >= 4 and SequenceMatcher(None, a, b).ratio() >= 0.8


def _distinct(texts: Sequence[str]) -> int:
    """How many different texts, counting near-identical readings of one text once."""
    kept: list[str] = []
    for text in texts:
        key = squash(text)
        if len(key) < 2:
            continue
        if not any(key == k or _near(key, k) for k in kept):
            kept.append(key)
    return len(kept)


def _fills_view(backdrops: Sequence[float], index: int) -> bool:
    return index < len(backdrops) and backdrops[index] >= FILLS_VIEW


def _texts(seen: Sequence[Observation], *, large: bool, present: bool) -> int | None:
    frames = seen[-1:] if present else seen
    read: list[str] = []
    for observation in frames:
        sizes, backdrops = observation.text_sizes, observation.text_backdrops
        if large and len(sizes) != len(observation.text):
            return None  # sizes not measured: no count to offer
        for index, text in enumerate(observation.text):
            if not large or (sizes[index] >= LARGE_TEXT and not _fills_view(backdrops, index)):
                read.append(text)
    return _distinct(read)


def counted(question: str, seen: Sequence[Observation], heard: Sequence[Utterance]) -> int | None:
    """What the question asks to count, counted on ``seen`` and ``heard`` (both up to the
    question); None when it asks no count perception can make."""
    if not _HOW_MANY.search(question):
        return None
    present = is_present(question) and not _SINCE.search(question)
    if _VOICES.search(question):
        return len({u.speaker for u in heard if u.speaker not in _UNHEARD}) if heard else 0
    if _LARGE.search(question):
        return _texts(seen, large=True, present=present)
    if _TEXTS.search(question):
        return _texts(seen, large=False, present=present)
    if not seen:
        return None
    if _FACES.search(question):
        return seen[-1].faces
    if _PEOPLE.search(question):
        return seen[-1].people
    return None


def count_support(
    question: str,
    options: Sequence[str],
    seen: Sequence[Observation],
    heard: Sequence[Utterance],
) -> list[float] | None:
    """1 for the option that states perception's count, 0 for the others; None when the
    question asks no count, an option is not a number, or no option states the count."""
    numbers = [option_number(option) for option in options]
    if any(n is None for n in numbers):
        return None
    count = counted(question, seen, heard)
    if count is None or count not in numbers:
        return None
    return [float(n == count) for n in numbers]
