"""When each option of a question was seen or heard, and which one the question's time points to.

Small models read "which of these appeared first?" and a list of first-seen times, and still
pick at random: comparing times is not what they do well. Perception knows the times, so the
comparison is made here and offered to the answer as evidence, weighed with the model's own
scores (see :mod:`reaction.choices`).

An option's sightings are the media times at which it was on screen (OCR, forgiving spaces and
O/0), its colour was in view (for a colour name), it was said, or (for a speaker's name) that
person spoke. The question's time reference is read from English words that mean it, whatever
the sentence around them: the present ("now", "currently"), what just appeared (of what is
in view, the one that came last), the start
("first", "earliest", "initially"), the most recent ("last", "latest", "no longer", "has
gone"), or a relation to something it quotes or names ("after X", "right after X", "before
X", "followed X").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from vigil.items import Observation, Utterance

__all__ = [
    "Reference",
    "Relation",
    "is_present",
    "reference",
    "sightings",
    "squash",
    "temporal_support",
]

Reference = Literal["now", "new", "first", "latest", "after", "before"]

_PRESENT = re.compile(
    r"\b(?:now|right now|currently|at (?:the|this) moment|at present|presently|at this (?:time|"
    r"point)|is (?:being )?(?:shown|displayed|visible))\b",
    re.IGNORECASE,
)
_NEW = re.compile(
    r"\b(?:just (?:appeared|came up|came into view|been (?:shown|held up|put up|raised))|newly|"
    r"has just|that just|which just|just (?:shown|held up|raised|put up))\b",
    re.IGNORECASE,
)
_FIRST = re.compile(
    r"\b(?:first|earliest|initially|at the (?:very )?(?:start|beginning)|opening|before (?:all )?"
    r"the others|before any other|earlier than (?:all |any )?(?:of )?(?:the )?(?:others|rest|"
    r"other \w+)|ahead of (?:all )?(?:the )?(?:others|rest))\b",
    re.IGNORECASE,
)
_LATEST = re.compile(
    r"\b(?:last|latest|most recent(?:ly)?|no longer|has (?:gone|disappeared|been (?:removed|"
    r"taken (?:away|down)))|was (?:removed|taken away|taken down)|went away|previous(?:ly)?|just "
    r"before it (?:was|went)|earlier|(?:a|one) (?:moment|minute|second|little while|short "
    r"while|while) ago|moments ago|recently|before that|vanished|is gone|put (?:away|down)|"
    r"lowered|any ?more)\b",
    re.IGNORECASE,
)
_GONE = re.compile(
    r"\b(?:no longer|has gone|gone now|is gone|disappeared|vanished|removed|taken (?:away|down)|"
    r"went away|put (?:away|down)|lowered|any ?more|off (?:the )?screen)\b",
    re.IGNORECASE,
)
_RELATION = re.compile(
    r"\b(?P<rel>right after|just after|immediately after|after|following|followed|next to|"
    r"subsequent to|right before|just before|immediately before|before|prior to|preceding|"
    r"preceded)\b\s+(?:the\s+(?:word|text|sign|card)\s+)?[\"'“‘]?(?P<what>[A-Za-z0-9][\w -]{0,30}?)"
    r"[\"'”’]?(?=[?.,!]|\s+(?:was|is|appeared|came|showed|had|on|went|left|vanished|"
    r"disappeared|got|faded)\b|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Relation:
    """A time reference: its kind, what an ``after``/``before`` is relative to, and (for
    ``latest``) whether the question says the thing is gone, so not what is in view now."""

    kind: Reference
    anchor: str = ""
    gone: bool = False


def squash(text: str) -> str:
    """Lower case without spaces or punctuation, O read as 0 forgiven: OCR writes "ROOM8" for
    "ROOM 8" and "PLATF0RM" for "PLATFORM"."""
    return re.sub(r"[^a-z0-9]", "", text.lower()).replace("0", "o")


def is_present(question: str) -> bool:
    """Whether the question speaks of the present ("now", "currently", "is shown")."""
    return bool(_PRESENT.search(question))


_NO_ANCHOR = re.compile(
    r"^(?:it|that|this|them|they|those|these|then|now|that one|the others?|the rest|all|"
    r"any|anything|everything|everyone|others|the (?:\w+ )?(?:card|sign|word|text|one) "
    r"(?:was|went|had|is)\b.*)$",
    re.IGNORECASE,
)
"""What follows "before" or "after" without naming a thing ("before it was taken away",
"before the others"): the question's other cues tell its moment."""


def reference(question: str, *, anchored: bool = True) -> Relation | None:
    """The time the question points to, or None when it names none; ``anchored=False``
    ignores "after X" / "before X" (an X never seen or heard anchors nothing)."""
    for match in _RELATION.finditer(question) if anchored else ():
        what = match.group("what").strip()
        if _NO_ANCHOR.match(what):
            continue
        before = match.group("rel").lower() in (
            "right before", "just before", "immediately before", "before", "prior to",
            "preceding", "preceded",
        )  # fmt: skip
        return Relation("before" if before else "after", what)
    if _FIRST.search(question):
        return Relation("first")
    if _NEW.search(question):
        return Relation("new")
    if _LATEST.search(question):
        return Relation("latest", gone=bool(_GONE.search(question)))
    if _PRESENT.search(question):
        return Relation("now")
    return None


def sightings(option: str, seen: Sequence[Observation], heard: Sequence[Utterance]) -> list[float]:
    """Media times (sorted) at which ``option`` was on screen, in view as a colour, said, or
    (a speaker's name) speaking."""
    wanted = squash(option)
    times: list[float] = []
    if len(wanted) >= 2:
        times += [o.media_time for o in seen if any(wanted in squash(t) for t in o.text)]
    name = option.strip().lower()
    times += [o.media_time for o in seen if name in o.colours]
    words = re.findall(r"[a-z0-9]+", option.lower())
    for utterance in heard:
        said = set(re.findall(r"[a-z0-9]+", utterance.text.lower()))
        if utterance.speaker.lower() == name or (words and all(w in said for w in words)):
            times.append(utterance.t1)
    return sorted(times)


def temporal_support(
    relation: Relation | None,
    options: Sequence[str],
    seen: Sequence[Observation],
    heard: Sequence[Utterance],
) -> list[float] | None:
    """1 for the option(s) the time reference (the question's, see :func:`reference`) picks,
    0 for the others; None when there is none or no option was ever seen or heard."""
    if relation is None:
        return None
    times = [sightings(option, seen, heard) for option in options]
    if not any(times):
        return None
    if relation.kind in ("now", "new"):
        latest = max((o.media_time for o in seen), default=None)
        visible = [latest is not None and latest in t for t in times]
        if relation.kind == "now" or sum(visible) < 2:
            return [float(v) for v in visible]
        # what just appeared: of what is in view, the one that came last
        newest = max(t[0] for t, v in zip(times, visible, strict=True) if v)
        return [float(v and t[0] == newest) for t, v in zip(times, visible, strict=True)]
    firsts = [t[0] if t else None for t in times]
    if relation.kind == "first":
        pick = min(f for f in firsts if f is not None)
        return [float(f == pick) for f in firsts]
    if relation.kind == "latest":
        if relation.gone:  # "no longer on screen": not what is in view now
            latest = max((o.media_time for o in seen), default=None)
            firsts = [None if latest in t else f for f, t in zip(firsts, times, strict=True)]
        if not any(f is not None for f in firsts):
            return None
        pick = max(f for f in firsts if f is not None)
        return [float(f == pick) for f in firsts]
    anchor = sightings(relation.anchor, seen, heard)
    if not anchor:
        return None
    if relation.kind == "after":
        later = [f for f in firsts if f is not None and f > anchor[0]]
        return [float(bool(later) and f == min(later)) for f in firsts]
    earlier = [f for f in firsts if f is not None and f < anchor[0]]
    return [float(bool(earlier) and f == max(earlier)) for f in firsts]
