"""What the respond/silent head sees: a standing instruction against the latest observations.

Dispider's decision head reads the state of the stream and says "respond" or "stay silent".
Vigil's perception is structured, so the state is a short vector: how well the on-screen text
matches the text the instruction waits for, whether its colours, counts, faces or cuts are
there, each now and one observation earlier (an event is a change), how much the picture
moved, and what the hand-written rules say. The same function builds training rows and live
inputs, so the head is trained on exactly what it will see.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from decision.conditions import EdgeTrigger
from decision.rules import parse_instruction
from vigil.instructions import Clause
from vigil.items import Observation

__all__ = ["FEATURES", "Target", "features"]

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
    condition: EdgeTrigger | None

    @classmethod
    def parse(cls, instruction: str) -> Target:
        """The fields of what the rules understood (one parser for both policies)."""
        spec = parse_instruction(instruction)
        clauses = spec.clauses if spec else ()
        pictured = tuple(c for c in clauses if not c.event and c.kind != "other")

        def first(kind: str) -> Clause | None:
            return next((c for c in clauses if c.kind == kind), None)

        text, people = first("text_on_screen"), first("people_at_least")
        return cls(
            text=text.value.lower() if text else None,
            colours=tuple(c.value for c in clauses if c.kind == "colour_on_screen"),
            people=people.count if people else None,
            faces=first("face_visible") is not None,
            cut=first("scene_change") is not None,
            condition=EdgeTrigger(pictured, spec.combine) if spec and pictured else None,
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


def _rule(condition: EdgeTrigger | None, observation: Observation | None) -> float:
    return float(condition is not None and observation is not None and condition.high(observation))


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
