"""What the respond/silent head sees: a standing instruction against the latest observations.

Dispider's decision head reads the state of the stream and says "respond" or "stay silent".
Vigil's perception is structured, so the state is a short vector: how well the on-screen text
matches the text the instruction waits for, whether its colours, counts, faces or cuts are
there, each now and one observation earlier (an event is a change), how much the picture
moved, and what the hand-written rules say. The same function builds training rows and live
inputs, so the head is trained on exactly what it will see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from decision.conditions import COLOUR_WORDS, Condition, parse_condition
from vigil.items import Observation

__all__ = ["FEATURES", "Target", "features"]

_QUOTED = re.compile(r"[\"“‘]([^\"”’]+)[\"”’]")

FEATURES = (
    "text_match",
    "text_match_before",
    "any_text",
    "colour_match",
    "colour_match_before",
    "people_enough",
    "people_enough_before",
    "faces_wanted_seen",
    "cut_wanted_seen",
    "motion",
    "picture_change",
    "rule",
    "rule_before",
    "wants_text",
    "wants_colour",
)
"""Names of the feature vector's entries, saved with the weights so that both stay in step."""


@dataclass(frozen=True, slots=True)
class Target:
    """What an instruction waits for, as far as the observation fields can tell."""

    text: str | None
    colours: tuple[str, ...]
    people: int | None
    faces: bool
    cut: bool
    condition: Condition | None

    @classmethod
    def parse(cls, instruction: str) -> Target:
        """The awaited text is the first quoted phrase ("output X" comes after the event)."""
        lowered = instruction.lower()
        event = re.split(r",\s*(?:output|say|reply|answer|tell)\b", instruction)[0]
        quoted = _QUOTED.search(event)
        condition = parse_condition(instruction)
        # the count the rules read ("five people", "more than 3 people"), not a second parser
        kind = condition.kind if condition else ""
        return cls(
            text=quoted.group(1).strip().lower() if quoted else None,
            colours=tuple(c for c in COLOUR_WORDS if re.search(rf"\b{c}\b", event.lower())),
            people=int(kind.removeprefix("people>=")) if kind.startswith("people>=") else None,
            faces=bool(re.search(r"\bfaces?\b", lowered)),
            cut=bool(re.search(r"\bscene changes?\b|\bcut\b", lowered)),
            condition=condition,
        )


def _text_match(wanted: str | None, observation: Observation | None) -> float:
    """Best similarity (0..1) of the awaited text to any line read, OCR slips forgiven."""
    if wanted is None or observation is None or not observation.text:
        return 0.0
    best = 0.0
    for line in observation.text:
        line = line.lower()
        if wanted in line:
            return 1.0
        best = max(best, SequenceMatcher(None, wanted, line).ratio())
    return best


def _colour_match(colours: tuple[str, ...], observation: Observation | None) -> float:
    """1 for the most dominant colour, less for the second and third."""
    if not colours or observation is None:
        return 0.0
    ranks = [observation.colours.index(c) for c in colours if c in observation.colours]
    return 1.0 / (1 + min(ranks)) if ranks else 0.0


def _people_enough(people: int | None, observation: Observation | None) -> float:
    return float(people is not None and observation is not None and observation.people >= people)


def _rule(condition: Condition | None, observation: Observation | None) -> float:
    return float(
        condition is not None and observation is not None and condition.predicate(observation)
    )


def _change(observation: Observation, before: Observation | None) -> float:
    if before is None or observation.embedding is None or before.embedding is None:
        return 0.0
    a, b = observation.embedding, before.embedding
    return float(1.0 - np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def features(target: Target, observation: Observation, before: Observation | None) -> np.ndarray:
    """The vector named by :data:`FEATURES` for ``observation`` (``before``: the one prior)."""
    values = (
        _text_match(target.text, observation),
        _text_match(target.text, before),
        float(bool(observation.text)),
        _colour_match(target.colours, observation),
        _colour_match(target.colours, before),
        _people_enough(target.people, observation),
        _people_enough(target.people, before),
        float(target.faces and observation.faces > 0),
        float(target.cut and observation.scene_change),
        min(observation.motion, 1.0),
        _change(observation, before),
        _rule(target.condition, observation),
        _rule(target.condition, before),
        float(target.text is not None),
        float(bool(target.colours)),
    )
    return np.asarray(values, dtype=np.float32)
