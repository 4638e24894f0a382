"""An index of the stream so far: every text read on screen with when, and every voice heard.

A timeline answers "what was happening at 12 s"; questions as often ask "which sign came
first?", "what was on the card that has gone?", "how many people have spoken?". A small model
reading a long timeline for those gets lost among repeated lines. The index states them
outright, one line each, in order of first appearance:

    Text read on screen (first-last seen): 'NO PARKING' 2-37s; 'ROOM8' 10-13s; 'ORBIT' 35-37s
    Voices heard, in order: Omar (3 times); Daniel (1); Kevin (3)

It sits after the timeline, so the timeline's cached prefix survives a new entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.items import Observation, Utterance

__all__ = ["index_lines"]

MAX_TEXTS = 16
"""Texts listed at most (the most recently seen; older ones are in the timeline)."""


def _seconds(t: float) -> str:
    return f"{t:.0f}" if abs(t - round(t)) < 0.05 else f"{t:.1f}"


def _texts(seen: Sequence[Observation]) -> str:
    spans: dict[str, list[float]] = {}
    for observation in seen:
        for text in observation.text:
            text = text.strip()
            if text:
                span = spans.setdefault(text, [observation.media_time, observation.media_time])
                span[1] = observation.media_time
    if not spans:
        return ""
    recent = sorted(spans.items(), key=lambda kv: kv[1][1])[-MAX_TEXTS:]
    listed = sorted(recent, key=lambda kv: kv[1][0])
    items = [
        f"'{text}' {_seconds(t0)}s" if t0 == t1 else f"'{text}' {_seconds(t0)}-{_seconds(t1)}s"
        for text, (t0, t1) in listed
    ]
    return "Text read on screen (first-last seen): " + "; ".join(items)


def _voices(heard: Sequence[Utterance]) -> str:
    counts: dict[str, int] = {}
    for utterance in heard:
        if utterance.speaker not in ("", "unknown", "speaker"):
            counts[utterance.speaker] = counts.get(utterance.speaker, 0) + 1
    if not counts:
        return ""
    items = [f"{who} ({n} {'time' if n == 1 else 'times'})" for who, n in counts.items()]
    return f"Voices heard, in order ({len(counts)}): " + "; ".join(items)


def index_lines(seen: Sequence[Observation], heard: Sequence[Utterance]) -> list[str]:
    """The index of ``seen`` (oldest first) and ``heard`` (final utterances, oldest first)."""
    return [line for line in (_texts(seen), _voices(heard)) if line]
