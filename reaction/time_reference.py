"""The moment a question points to, read by the model when no rule knows its words.

:func:`reaction.sightings.reference` reads a question's time cue from English words that mean
it ("first", "no longer", "right after X"). A benchmark or a person phrases the same cue in
ways no list foresees ("ahead of the rest", "once it vanished"), and a cue missed is an option
left to a small model's guess. So when the rules find none, and the options were seen at
different times (so that the moment decides between them), the model is asked which of the
moments the question means: a choice among seven, scored by the first token of its letter, as
multiple-choice answers are. Only options read on screen count here: a small model finds a
moment in "which place did Omar say?" (its options were heard at different times) as readily
as in any question, and on the probe of :mod:`bench.time_reference` it misread 6 of 20 such
questions. A relation to something named needs its anchor: the text the question names that
perception read on screen and that is not an option.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from reaction.backends.base import Backend, ChatMessage
from reaction.context import load_prompt
from reaction.sightings import Reference, Relation, reference, sightings, squash
from vigil.items import Observation, Utterance
from vigil.passages import STOP_WORDS

__all__ = ["MOMENTS", "ask_moment", "named_anchor", "read_reference"]

log = logging.getLogger(__name__)

MOMENTS: tuple[Reference | None, ...] = ("now", "new", "first", "latest", "after", "before", None)
"""What each lettered moment of the prompt means, A to G (G: none)."""
_LETTERS = "ABCDEFG"
_QUOTED = re.compile(r"[\"'“‘]([^\"'”’]{2,40})[\"'”’]")
_PLAIN = STOP_WORDS | {"card", "cards", "sign", "word", "text", "screen", "shown", "appeared"}
"""Words of a question that name no anchor (a text called "CARD" is in capitals or quoted)."""
_CAPITALS = re.compile(r"\b[A-Z0-9][A-Z0-9 -]*[A-Z0-9]\b")


def named_anchor(
    question: str, options: Sequence[str], seen: Sequence[Observation], heard: Sequence[Utterance]
) -> str | None:
    """The text ``question`` names as its anchor ("after 'TIGER'"): quoted or in capitals
    first, then any word of it, that was seen or heard and is none of ``options``."""
    taken = {squash(option) for option in options}
    candidates = [*_QUOTED.findall(question), *_CAPITALS.findall(question)]
    candidates += [w for w in re.findall(r"[A-Za-z0-9]{4,}", question) if w.lower() not in _PLAIN]
    for candidate in candidates:
        key = squash(candidate)
        if len(key) >= 2 and key not in taken and sightings(candidate, seen, []):
            return candidate.strip()
    for candidate in candidates:  # a word that was said, when nothing named was seen
        if squash(candidate) not in taken and sightings(candidate, [], heard):
            return candidate.strip()
    return None


async def read_reference(
    backend: Backend,
    question: str,
    options: Sequence[str],
    seen: Sequence[Observation],
    heard: Sequence[Utterance],
) -> Relation | None:
    """The moment ``question`` points to: the rules' reading (an "after X" only when X was
    seen or heard), else the model's when the options were read on screen at different
    times; None when it points to none."""
    relation = reference(question)
    if relation is not None and relation.anchor and not sightings(relation.anchor, seen, heard):
        relation = reference(question, anchored=False)  # "after X" with an X nobody saw
    if relation is not None:
        return relation
    firsts = {times[0] for option in options if (times := sightings(option, seen, []))}
    if len(firsts) < 2 or "first_token" not in backend.score_methods:
        return None
    moment = await ask_moment(backend, question)
    log.debug("time reference read by the model: %s", moment)
    if moment in ("after", "before"):
        anchor = named_anchor(question, options, seen, heard)
        return Relation(moment, anchor) if anchor else None
    return Relation(moment, gone=moment == "latest") if moment else None


async def ask_moment(backend: Backend, question: str) -> Reference | None:
    """The model's reading of the moment ``question`` asks about (None: none)."""
    prompt = load_prompt("time_reference").format(question=question)
    scores = await backend.score(
        [ChatMessage("user", prompt)], list(_LETTERS), method="first_token"
    )
    return MOMENTS[max(range(len(scores)), key=scores.__getitem__)]
