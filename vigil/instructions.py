"""What a standing instruction was understood to ask for: a typed condition and an output.

"When the word PLATFORM appears on screen, output 'PLATFORM'" and "Let me know once someone
mentions an umbrella" are both turned into a :class:`WatchSpec`: clauses over what perception
reports (on-screen text, colours, people and face counts, cuts, motion, and speech: a word
said, a named person speaking, a question asked), how they combine, and the output wanted.
The rule parser (``decision.rules``) and the language-model compiler (``reaction.instructions``)
both produce this one shape, so the decision stage watches whatever either understood, and the
user is told in the same words (:meth:`WatchSpec.describe`).

An instruction that fits no clause becomes one ``other`` clause: the model itself is asked at
a bounded rate whether it happened. Nothing is silently dropped.

This module imports nothing else of the project; both stages share it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

__all__ = [
    "COLOURS",
    "EVENT_KINDS",
    "SCHEMA",
    "Clause",
    "ClauseKind",
    "WatchSpec",
    "normal_value",
]

ClauseKind = Literal[
    "text_on_screen",
    "colour_on_screen",
    "people_at_least",
    "people_at_most",
    "face_visible",
    "scene_change",
    "motion",
    "speech_mentions",
    "person_speaks",
    "question_asked",
    "other",
]
KINDS: tuple[str, ...] = get_args(ClauseKind)
EVENT_KINDS = frozenset({"speech_mentions", "person_speaks", "question_asked"})
"""Clauses about speech: true at the moment an utterance ends, not a lasting state."""
_VALUED = frozenset({"text_on_screen", "colour_on_screen", "speech_mentions", "person_speaks"})
_COUNTED = frozenset({"people_at_least", "people_at_most", "face_visible"})

COLOURS = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "white",
    "grey", "black",
)  # fmt: skip
"""The colour names perception reports."""
_COLOUR_ALIASES = {"gray": "grey", "violet": "purple", "magenta": "pink", "teal": "cyan"}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "conditions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "value": {"type": "string"},
                    "count": {"type": "integer"},
                },
                "required": ["kind", "value", "count"],
            },
        },
        "combine": {"type": "string", "enum": ["all", "any"]},
        "output": {"type": "string"},
    },
    "required": ["conditions", "combine", "output"],
}
"""The JSON a model must produce (enforced by grammar or guided decoding where the backend
can). ``value`` is the word, colour, name or topic a clause needs ("" otherwise); ``count``
the number people/face clauses need (0 otherwise); ``output`` is "" when none is named."""


def normal_value(kind: str, value: str) -> str:
    """A clause value in canonical form: trimmed, quotes and leading articles dropped; colours
    and names lower case (on-screen text keeps its case for display, compared without it)."""
    value = value.strip().strip("\"'“”‘’.,!?:;").strip()
    value = re.sub(r"^(?:the|a|an)\s+(?=\w)", "", value, flags=re.IGNORECASE)
    if kind in ("text_on_screen", "speech_mentions"):  # "the word lunch" is "lunch"
        value = re.sub(
            r"^(?:word|words|phrase|term|name|text)\s+(?=\S)", "", value, flags=re.IGNORECASE
        ).strip("\"'“”‘’")
    if kind == "colour_on_screen":
        value = value.lower()
        return _COLOUR_ALIASES.get(value, value)
    if kind in ("person_speaks",):
        return value[:1].upper() + value[1:].lower()
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    """One thing to watch for. ``value`` and ``count`` matter only to the kinds that use them."""

    kind: ClauseKind
    value: str = ""
    count: int = 0

    @property
    def event(self) -> bool:
        """Whether the clause is about speech (an event) rather than the picture (a state)."""
        return self.kind in EVENT_KINDS

    @property
    def label(self) -> str:
        """``kind=value`` or ``kind>=count``, as in logs and the understood list."""
        if self.kind in _COUNTED:
            return f"{self.kind}{'<=' if self.kind == 'people_at_most' else '>='}{self.count}"
        return f"{self.kind}={self.value}" if self.value else self.kind

    def describe(self) -> str:
        match self.kind:
            case "text_on_screen":
                return f"the text '{self.value}' is on screen"
            case "colour_on_screen":
                return f"something {self.value} is in view"
            case "people_at_least":
                who = "person is" if self.count == 1 else "people are"
                return f"at least {self.count} {who} in view"
            case "people_at_most":
                if self.count == 0:
                    return "nobody is in view"
                return f"at most {self.count} people are in view"
            case "face_visible":
                return "a face is visible"
            case "scene_change":
                return "the scene changes"
            case "motion":
                return "something moves"
            case "speech_mentions":
                return f"someone says '{self.value}'"
            case "person_speaks":
                return f"{self.value} speaks"
            case "question_asked":
                return "someone asks a question"
            case _:
                return f"(checked by the model) {self.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchSpec:
    """A standing instruction as understood: ``clauses`` combined by ``combine``; ``output``
    is the exact text to give when it fires ("" for a sentence saying what happened);
    ``source`` tells who understood it (``rules`` or ``model``)."""

    clauses: tuple[Clause, ...]
    combine: Literal["all", "any"] = "all"
    output: str = ""
    source: str = "rules"

    @property
    def model_checked(self) -> bool:
        """True when no clause fits and the model must judge each moment itself."""
        return any(c.kind == "other" for c in self.clauses)

    @property
    def kind(self) -> str:
        """A compact label ("text_on_screen=PLATFORM & speech_mentions=umbrella")."""
        return (" & " if self.combine == "all" else " | ").join(c.label for c in self.clauses)

    def describe(self) -> str:
        """What was understood, in a sentence for the user."""
        joiner = " and " if self.combine == "all" else " or "
        when = joiner.join(c.describe() for c in self.clauses)
        then = f"say '{self.output}'" if self.output else "say what happened"
        return f"when {when}: {then}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "conditions": [
                    {"kind": c.kind, "value": c.value, "count": c.count} for c in self.clauses
                ],
                "combine": self.combine,
                "output": self.output,
            }
        )

    @classmethod
    def from_json(cls, data: str | dict[str, Any], *, source: str = "model") -> WatchSpec:
        """A spec from the schema's JSON; raises ValueError when it does not fit the schema."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
            raise ValueError("a watch spec needs a list of conditions")
        clauses = []
        for raw in data["conditions"]:
            if not isinstance(raw, dict) or raw.get("kind") not in KINDS:
                raise ValueError(f"unknown condition {raw!r}")
            kind = raw["kind"]
            value = normal_value(kind, str(raw.get("value") or ""))
            count = int(raw.get("count") or 0)
            if kind in _VALUED and not value:
                raise ValueError(f"condition {kind} needs a value")
            floor = 0 if kind == "people_at_most" else 1
            count = max(count, floor) if kind in _COUNTED else 0
            if kind not in _VALUED and kind != "other":
                value = ""
            clauses.append(Clause(kind=kind, value=value, count=count))
        if not clauses:
            raise ValueError("a watch spec needs at least one condition")
        combine = data.get("combine", "all")
        if combine not in ("all", "any"):
            raise ValueError(f"combine must be 'all' or 'any', not {combine!r}")
        output = normal_value("output", str(data.get("output") or ""))
        return cls(clauses=tuple(clauses), combine=combine, output=output, source=source)

    def same_meaning(self, other: WatchSpec) -> bool:
        """Whether two specs watch for the same thing and give the same output (values
        compared without case; the order of clauses does not matter)."""

        def key(spec: WatchSpec) -> tuple[object, ...]:
            clauses = sorted(
                (c.kind, "" if c.kind == "other" else c.value.lower(), c.count)
                for c in spec.clauses
            )
            combine = spec.combine if len(clauses) > 1 else "all"
            return (tuple(clauses), combine, spec.output.lower())

        return key(self) == key(other)
