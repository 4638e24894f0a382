"""What a speaker showed: on-screen text that appeared while they spoke, as a record of its own.

Perception reads the text on the picture, but an observation does not know who held the card
up, so "what word was on the card Bob showed?" finds Bob's "look at this card" and not the word.
When a session ends, each on-screen text that newly appeared while a named speaker spoke (or up
to ``lag`` seconds after: OCR reads a second or two late) becomes a record in that speaker's
name, which both the embedding and full-text search match by name and by meaning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memory.schema import MemoryRecord

__all__ = ["Shown", "shown_by"]

_ON_SCREEN = re.compile(r"on-screen text: (.*?)(?:; |$)")  # as perception.describe writes it
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


@dataclass(frozen=True, slots=True)
class Shown:
    stream: str
    speaker: str
    text: str
    t: float


def _on_screen(record: MemoryRecord) -> set[str]:
    found = _ON_SCREEN.search(record.text)
    return {a or b for a, b in _QUOTED.findall(found.group(1))} if found else set()


def shown_by(
    items: Sequence[MemoryRecord], names: Mapping[str, str], *, lag: float = 3.0
) -> list[Shown]:
    """One :class:`Shown` per on-screen text that appeared while a named speaker spoke."""
    said = sorted(
        (r for r in items if r.kind == "utterance" and r.speaker), key=lambda r: r.media_t0
    )
    seen = sorted((r for r in items if r.kind == "observation"), key=lambda r: r.media_t0)
    shown: list[Shown] = []
    before: set[str] = set()
    for observation in seen:
        now = _on_screen(observation)
        t = observation.media_t0
        talking = [u for u in said if u.media_t0 <= t <= u.media_t1 + lag]
        for line in sorted(now - before) if talking else ():
            utterance = talking[-1]
            who = names.get(utterance.speaker, utterance.speaker)
            words = utterance.text.split(": ", 1)[-1]  # memory.ingest writes "Name: words"
            text = f"{who} showed on-screen text '{line}' while saying: {words}"
            shown.append(Shown(observation.stream, utterance.speaker, text, t))
        before = now
    return shown
