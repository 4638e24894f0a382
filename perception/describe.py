"""One factual line per observation, for language models that read text only.

The line states only what the detectors measured, in a fixed order and vocabulary, so that a
small model can match it against a question ("how many people?", "what does the sign say?")
and so that two observations of the same scene read the same.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["describe", "motion_words"]


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def motion_words(motion: float) -> str:
    """Words for the share of the picture that moved since the last sampled frame."""
    if motion < 0.005:
        return "still"
    if motion < 0.05:
        return "little motion"
    if motion < 0.2:
        return "some motion"
    return "much motion"


def describe(
    *,
    people: int,
    faces: int = 0,
    text: Sequence[str] = (),
    colours: Sequence[str] = (),
    motion: float = 0.0,
    scene_change: bool = False,
    max_text: int = 3,
) -> str:
    """For example ``"4 people, 1 face; on-screen text: 'EXIT'; mostly grey; little motion"``."""
    parts = []
    seen = "no people" if people == 0 else _count(people, "person", "people")
    if faces:
        seen += ", " + _count(faces, "face", "faces")
    parts.append(seen)
    if text:
        quoted = ", ".join(repr(line) for line in text[:max_text])
        if len(text) > max_text:
            quoted += f" (+{len(text) - max_text} more)"
        parts.append(f"on-screen text: {quoted}")
    if colours:
        parts.append("mostly " + " and ".join(colours[:2]))
    parts.append(motion_words(motion))
    if scene_change:
        parts.append("new scene")
    return "; ".join(parts)
