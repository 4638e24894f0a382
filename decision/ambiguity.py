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
_PART_BREAK = re.compile(
    r"[.,](?=\s|$)|[;:!?()]|\s(?:and|but|with|which|who|where|while|whose)\s", re.IGNORECASE
)
"""Where a sentence breaks into parts that each state one detail ("2,100" and "2.5" stay whole)."""
PART_WORDS = 10
"""Words a detail may have and still come first: one fact, which a person can confirm."""


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


def _parts(found: Found, titles: Sequence[str]) -> list[str]:
    """The parts of ``found``'s text that each state one detail ("It has a rooftop terrace",
    "is closed on Mondays"), of two words or more, none naming a candidate. A part that opens
    with the passage's own title keeps what follows it ("The Nightjars are a folk trio" is
    "a folk trio"): what kind of thing it is, often what a person remembers best."""
    own = re.escape(found.title.lower().removeprefix("the ")) if found.names else ""
    opening = re.compile(rf"^(?:the\s+)?{own}\s+(?:is|are|was|were|has|had)?\s*", re.I)
    parts = []
    for part in _PART_BREAK.split(found.text):
        part = opening.sub("", part.strip()) if own else part.strip()
        if len(part.split()) >= 2 and not any(t in part.lower() for t in titles):
            parts.append(part)
    return parts


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


_TAIL_OPENERS = frozenset(["from", "in", "of", "at", "on", "near", "for", "to", "by"])


def _trimmed(part: str, own: set[str]) -> str:
    """``part`` without a closing phrase that tells nothing apart ("a folk trio from the city
    of Brellin" is "a folk trio" where every candidate is from Brellin): a person who does
    not know where the thing is from says no to the whole."""
    tokens = part.split()
    telling = [i for i, t in enumerate(tokens) if _words(t) & own]
    if not telling:
        return part
    tail = tokens[telling[-1] + 1 :]
    if tail and tail[0].lower() in _TAIL_OPENERS:
        return " ".join(tokens[: telling[-1] + 1])
    return part


def _specific(part: str, said: set[str]) -> bool:
    """Whether ``part`` hangs on a name or a number the request does not give ("led by Kofi
    Marsh", "from 5 pm"): a person recalls those less often than what kind of thing it was,
    where, and what it looked like."""
    tokens = _WORD.findall(part)[1:]
    return any((t[0].isupper() or t.isdigit()) and t.lower() not in said for t in tokens)


def distinguishing(
    candidates: Sequence[Found], request: str, most: int = 3
) -> dict[str, tuple[str, ...]]:
    """For each candidate, the parts of its text that tell it from the others: short ones
    that hold words no other candidate has and the request does not say ("out on the old
    pier"), those without names or numbers first. A closed question is made of such a part,
    so it must state one thing a person can confirm (asked "banjo, fiddle and upright
    bass?", someone who remembers only the banjo says no) and never the name, which the
    person does not remember."""
    said = _words(request)
    titles = [f.title.lower().removeprefix("the ") for f in candidates if f.names and f.title]
    named = set().union(*(_words(t) for t in titles)) if titles else set()
    words = [_words(f.line()) - STOP_WORDS - said - named for f in candidates]
    out: dict[str, tuple[str, ...]] = {}
    for i, found in enumerate(candidates):
        own = words[i] - set().union(*(ws for j, ws in enumerate(words) if j != i))
        parts = [_trimmed(part, own) for part in _parts(found, titles)]
        scored = [(len(own & _words(part)), part) for part in parts]
        ranked = sorted(
            (p for p in scored if p[0]),
            key=lambda p: (
                len(p[1].split()) > PART_WORDS,
                _specific(p[1], said),
                -p[0],
                len(p[1]),
            ),
        )
        out[_key(found)] = tuple(part for _, part in ranked[:most])
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
