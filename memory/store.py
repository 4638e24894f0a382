"""The working memory of a run: what each stream has seen, heard, been asked and answered.

This is the in-process store that the reaction stage reads its context from. It keeps a bounded
window per stream and kind (retention is part of the design: memory is bounded like every hop),
so a long-lived stream never grows without limit.

Observations are bounded by change, not by time: a run of observations that report the same
thing (counts, text, colours) keeps only its first and its latest, which is all a timeline
line ("t=10.0-14.0s: 4 people") needs. A quiet camera then keeps hours in the same room that
a busy one keeps minutes in, so a question can still reach what was seen long ago.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TypeVar

from vigil.items import Item, Observation, Request, Response, Utterance

__all__ = ["MemorySnapshot", "MemoryStore", "Retention"]

_T = TypeVar("_T", bound=Item)


@dataclass(frozen=True, slots=True, kw_only=True)
class Retention:
    """How many items of each kind a stream keeps (oldest forgotten first)."""

    observations: int = 600
    utterances: int = 200
    requests: int = 200
    answers: int = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySnapshot:
    """A stream's memory at one moment, oldest first, ready for context building."""

    observations: tuple[Observation, ...] = ()
    utterances: tuple[Utterance, ...] = ()
    requests: tuple[Request, ...] = ()
    answers: tuple[Response, ...] = ()


@dataclass(slots=True)
class _StreamMemory:
    retention: Retention
    observations: deque[Observation] = field(init=False)
    utterances: deque[Utterance] = field(init=False)
    requests: deque[Request] = field(init=False)
    answers: deque[Response] = field(init=False)
    version: int = 0

    def __post_init__(self) -> None:
        self.observations = deque(maxlen=self.retention.observations)
        self.utterances = deque(maxlen=self.retention.utterances)
        self.requests = deque(maxlen=self.retention.requests)
        self.answers = deque(maxlen=self.retention.answers)


def _same(before: Observation, after: Observation) -> bool:
    """Whether ``after`` reports what ``before`` did (and is no cut)."""
    return not after.scene_change and (
        before.people,
        before.faces,
        before.text,
        before.colours,
    ) == (after.people, after.faces, after.text, after.colours)


class MemoryStore:
    """Items by stream and kind; ``snapshot`` gives the reaction stage what it may use."""

    def __init__(self, retention: Retention | None = None) -> None:
        self._retention = retention or Retention()
        self._streams: dict[str, _StreamMemory] = defaultdict(
            lambda: _StreamMemory(self._retention)
        )

    def add(self, item: Item) -> bool:
        """Store ``item`` if memory keeps its kind; returns whether it was kept."""
        memory = self._streams[item.stream_id]
        match item:
            case Observation():
                seen = memory.observations
                if len(seen) >= 2 and _same(seen[-2], seen[-1]) and _same(seen[-1], item):
                    seen[-1] = item  # the run keeps its first and its latest
                else:
                    seen.append(item)
            case Utterance(final=True):
                memory.utterances.append(item)
            case Request():
                memory.requests.append(item)
            case Response():
                memory.answers.append(item)
            case _:
                return False
        memory.version += 1
        return True

    def add_many(self, items: list[Item]) -> int:
        """Store what memory keeps of ``items``; returns how many were kept."""
        return sum(self.add(item) for item in items)

    def version(self, stream_id: str) -> int:
        """A number that changes whenever the stream's memory does: a cheap way to poll for
        news without copying a snapshot."""
        memory = self._streams.get(stream_id)
        return 0 if memory is None else memory.version

    def snapshot(self, stream_id: str, *, until: float | None = None) -> MemorySnapshot:
        """Everything kept for ``stream_id`` up to media time ``until`` (all when None)."""
        memory = self._streams.get(stream_id)
        if memory is None:
            return MemorySnapshot()

        def upto(items: deque[_T]) -> tuple[_T, ...]:
            if until is None:
                return tuple(items)
            return tuple(item for item in items if item.media_time <= until)

        return MemorySnapshot(
            observations=upto(memory.observations),
            utterances=upto(memory.utterances),
            requests=upto(memory.requests),
            answers=upto(memory.answers),
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Items held per stream and kind (for metrics and tests)."""
        return {
            stream_id: {
                "observations": len(m.observations),
                "utterances": len(m.utterances),
                "requests": len(m.requests),
                "answers": len(m.answers),
            }
            for stream_id, m in self._streams.items()
        }

    def forget(self, stream_id: str) -> None:
        """Drop everything held for a stream."""
        self._streams.pop(stream_id, None)
