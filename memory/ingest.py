"""What a pipeline item becomes in long-term memory: its kind, the text a model reads, who.

Speaker names are rendered into the text ("Alice: ..."), so that both the embedding and full
text search can match a question that names a speaker; the speaker id stays in its own column
for filters and deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from memory.schema import Kind
from vigil.items import Clip, Item, Observation, Request, Response, Utterance

__all__ = ["Draft", "draft"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    kind: Kind
    text: str
    speaker: str
    t0: float
    t1: float


def _observation_text(item: Observation) -> str:
    if item.description:
        return item.description
    parts = []
    if item.people:
        parts.append(f"{item.people} people")
    if item.text:
        parts.append("text: " + " / ".join(item.text))
    if item.colours:
        parts.append("colours: " + ", ".join(item.colours))
    return "Seen: " + "; ".join(parts) if parts else ""


def draft(item: Item, names: Mapping[str, str]) -> Draft | None:
    """The memory draft of ``item``, or None when memory keeps nothing of it."""
    t = item.media_time
    match item:
        case Utterance(final=True):
            who = names.get(item.speaker, item.speaker)
            return Draft(
                kind="utterance",
                text=f"{who}: {item.text}",
                speaker=item.speaker,
                t0=item.t0,
                t1=item.t1,
            )
        case Request():
            who = names.get(item.speaker, item.speaker)
            return Draft(
                kind="request", text=f"{who} asked: {item.text}", speaker=item.speaker, t0=t, t1=t
            )
        case Response(cancelled=False):
            text = f"Agent, asked {item.question!r}: {item.text}"
            return Draft(kind="answer", text=text, speaker="agent", t0=item.asked_at, t1=t)
        case Clip():
            return Draft(kind="clip", text=item.summary, speaker="", t0=item.t0, t1=item.t1)
        case Observation():
            text = _observation_text(item)
            return Draft(kind="observation", text=text, speaker="", t0=t, t1=t) if text else None
        case _:
            return None
