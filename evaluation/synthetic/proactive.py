"""Standing instructions (StreamingBench Proactive Output) with a look-alike before the moment.

Each instruction is given at a whole second ``at``; then something of the same sort happens
that is not what it waits for (another word or card, another colour, another item mentioned by
someone else), and only then the awaited event, at ``due``: the second a word or colour appears
(elements start on whole seconds), or the second in which the awaited word starts being
spoken (the floor of its onset in the track). What is awaited happens once in the whole clip,
so an answer at any other time is spurious, and ``due + 4`` s fits in the clip so that the
official polling window does too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from evaluation.synthetic.questions import Item, Picker, article, shuffled
from evaluation.synthetic.timeline import Shown

__all__ = ["INSTRUCTION_GENERATORS"]


def _instruct(
    p: Picker, kind: str, lookalike: float, due: int, output: str, fields: dict[str, str]
) -> Item | None:
    """Given 1-5 s before the look-alike at ``lookalike``, if a second is free there."""
    if due + 4 > p.clip.duration or due <= lookalike or output in p.awaited:
        return None
    start = math.floor(lookalike)
    at = p.second(max(1, start - 5), start - 1)
    if at is None:
        return None
    p.awaited.add(output)
    text, index = p.phrase(kind, **fields)
    return Item(kind=kind, at=at, text=text, phrasing=index, due=due, output=output)


def _latest_before(events: list[Shown], t0: int) -> Shown | None:
    before = [e for e in events if e.t0 < t0]
    return before[-1] if before else None


def watch_word(p: Picker) -> Item | None:
    """A word on a card or panel; the look-alike is the text shown just before it."""
    events = p.clip.events
    targets = [e for e in events if e.text and e.kind in ("card", "panel")]
    for target in shuffled(p.rng, targets):
        lookalike = _latest_before([e for e in events if e.text], target.t0)
        if lookalike is not None:
            made = _instruct(
                p, "watch_word", lookalike.t0, target.t0, target.text, {"word": target.text}
            )
            if made:
                return made
    return None


def watch_card(p: Picker) -> Item | None:
    """A card with a word; the look-alike is the card before it."""
    cards = [e for e in p.clip.events if e.kind == "card"]
    for target in shuffled(p.rng, cards):
        lookalike = _latest_before(cards, target.t0)
        if lookalike is not None:
            made = _instruct(
                p, "watch_card", lookalike.t0, target.t0, target.text, {"word": target.text}
            )
            if made:
                return made
    return None


def watch_colour(p: Picker) -> Item | None:
    """A panel of a colour nothing showed before; the look-alike is the last coloured
    element before it (a card or panel of another colour)."""
    coloured = [e for e in p.clip.events if e.colour]
    for target in shuffled(p.rng, [e for e in coloured if e.kind == "panel"]):
        if any(e.colour == target.colour for e in coloured if e.t0 < target.t0):
            continue
        lookalike = _latest_before(coloured, target.t0)
        if lookalike is not None and target.colour:
            made = _instruct(
                p, "watch_colour", lookalike.t0, target.t0, target.colour, {"colour": target.colour}
            )
            if made:
                return made
    return None


def listen_word(p: Picker) -> Item | None:
    """An item someone mentions once; the look-alike is another item mentioned before it."""
    lines = p.clip.said
    items = [s for s in lines if s.fact is not None and s.fact.kind == "item"]
    for target in shuffled(p.rng, items):
        assert target.fact is not None and target.subject_at is not None
        word = re.compile(rf"\b{re.escape(target.fact.subject)}\b", re.IGNORECASE)
        if sum(bool(word.search(s.text)) for s in lines) != 1:
            continue
        before = [s for s in items if s.end < target.start]
        if before:
            subject = target.fact.subject
            fields = {"item": subject, "a": article(subject)}
            due = math.floor(target.subject_at)
            made = _instruct(p, "listen_word", before[-1].start, due, subject, fields)
            if made:
                return made
    return None


# In the order they are made: a card instruction before the any-word one, which would
# otherwise take most cards.
INSTRUCTION_GENERATORS: dict[str, Callable[[Picker], Item | None]] = {
    "watch_card": watch_card,
    "watch_colour": watch_colour,
    "listen_word": listen_word,
    "watch_word": watch_word,
}
