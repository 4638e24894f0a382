"""Whether a request needs a question back before it can be answered.

People ask "what was the name of that place?" and mean one of several. Answering at once
picks the likeliest reading, which is the wrong one as often as not (InteractComp: the best
model is right 13.7% of the time, 71.5% once told what was meant). A request is ambiguous
when:

- what the search found holds several **plausible targets**: passages about different things
  whose similarity to the request lies within ``margin`` of the best one's, and which differ
  in something the request does not say (a year, a colour, a place); or
- it leans on a **reference it does not resolve** ("that one", "the guy from before", "it")
  and the search found more than one thing it could point to.

The loop's model may still ask when neither holds (a language-model judgement of its own).
``margin`` was chosen on the dev split of the clarify set (32 ambiguous, 4 clear questions;
``python -m bench.clarify_threshold``): at 0.08, 7 ambiguities missed and no needless
question; at 0.15, 2 and 0; at 0.2, none missed and 1 needless.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from vigil.passages import STOP_WORDS, Found

__all__ = ["AmbiguityOptions", "Verdict", "assess", "distinguishing", "unresolved_reference"]

_REFERENCES = re.compile(
    r"\b(?:that|those|this|these|the same)\s+(?:one|ones|place|guy|man|woman|person|people|"
    r"thing|things|spot|name|shop|restaurant|cafe|hotel|film|movie|book|song|game|app|"
    r"company|guy|girl|lady|one)\b"
    r"|\bfrom (?:before|earlier|last time)\b|\b(?:we|you|they|he|she) (?:talked|spoke|mentioned|"
    r"said|discussed)\b|\bthe one\b|^(?:is|was|does|did) (?:it|that|he|she)\b"
    r"|\bremember (?:the|that)\b|\b(?:suggested|mentioned|recommended|talked about)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|\d+")
_CLAUSE = re.compile(r"[^.;:!?,()]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class AmbiguityOptions:
    """``margin``: how far below the best similarity a passage may be and still be a plausible
    target; ``floor``: the least similarity for a passage to count at all; ``candidates``:
    how many plausible targets a verdict keeps."""

    margin: float = 0.2
    floor: float = 0.2
    candidates: int = 4


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to ask, why, and about what: the plausible targets, and the phrases that tell
    each from the others (keyed by :meth:`Found.line`)."""

    ambiguous: bool
    reason: str
    candidates: tuple[Found, ...] = ()
    differences: dict[str, tuple[str, ...]] = field(default_factory=dict)


def unresolved_reference(request: str) -> str | None:
    """The words by which ``request`` points at something it does not name, if any."""
    match = _REFERENCES.search(request)
    return match.group(0) if match else None


def _key(found: Found) -> str:
    """What a passage is about: its title where the title names a thing, else its text."""
    return found.line()


def _clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.findall(text) if len(c.split()) >= 2]


def distinguishing(
    candidates: Sequence[Found], request: str, most: int = 2
) -> dict[str, tuple[str, ...]]:
    """For each candidate, the phrases of its text that tell it from the others: those that
    hold most of the words no other candidate has and the request does not say ("out on the
    old pier since 1998"). A closed question is made of such a phrase; the title is left
    out, since the person does not remember the name."""
    said = {w.lower() for w in _WORD.findall(request)}
    words = [{w.lower() for w in _WORD.findall(f.line())} - STOP_WORDS - said for f in candidates]
    out: dict[str, tuple[str, ...]] = {}
    for i, found in enumerate(candidates):
        own = words[i] - set().union(*(ws for j, ws in enumerate(words) if j != i))
        scored = [
            (len(own & {w.lower() for w in _WORD.findall(c)}), c) for c in _clauses(found.text)
        ]
        ranked = sorted((p for p in scored if p[0]), key=lambda p: (-p[0], len(p[1])))
        out[_key(found)] = tuple(c for _, c in ranked[:most])
    return out


def assess(
    request: str, found: Sequence[Found], options: AmbiguityOptions | None = None
) -> Verdict:
    """The verdict on ``request`` given what a search found for it."""
    options = options or AmbiguityOptions()
    distinct: dict[str, Found] = {}
    for passage in sorted(found, key=lambda f: -f.similarity):
        if passage.similarity >= options.floor:
            distinct.setdefault(_key(passage), passage)
    ranked = list(distinct.values())
    if len(ranked) < 2:
        return Verdict(False, "one thing fits" if ranked else "nothing found", tuple(ranked))
    best = ranked[0].similarity
    plausible = [f for f in ranked if f.similarity >= best - options.margin]
    plausible = plausible[: options.candidates]
    if len(plausible) >= 2:
        differences = distinguishing(plausible, request)
        if any(differences.values()):
            names = ", ".join(f.title or f.text[:30] for f in plausible)
            return Verdict(True, f"several fit: {names}", tuple(plausible), differences)
    reference = unresolved_reference(request)
    if reference:
        kept = tuple(ranked[: options.candidates])
        return Verdict(
            True,
            f'"{reference}" could mean any of {len(kept)}',
            kept,
            distinguishing(kept, request),
        )
    return Verdict(False, "one fits clearly", tuple(plausible))
