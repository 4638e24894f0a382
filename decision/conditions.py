"""Standing instructions ("tell me when someone enters") turned into checks on observations.

The default CPU perception is structured (people, faces, on-screen text, motion, scene
changes), so an instruction is parsed into a predicate over those fields. Each condition is
edge-triggered: it fires when it becomes true and re-arms only after it has been false for
``release`` consecutive observations, so one occurrence gives one answer even when the
detector flickers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vigil.items import Observation

__all__ = ["COLOUR_WORDS", "Condition", "EdgeTrigger", "Rearm", "parse_condition"]

Predicate = Callable[[Observation], bool]

_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_PERSON = r"(?:someone|somebody|anyone|anybody|a person|people|a man|a woman|a pedestrian|person)"
_ARRIVE = r"(?:enters?|appears?|arrives?|comes? in|shows? up|walks? in|is there|is visible)"
_COUNT = re.compile(
    r"(?:more than|over|at least)?\s*(\d+|" + "|".join(_NUMBERS) + r")\s+(?:or more\s+)?"
    r"(?:people|persons|pedestrians)",
    re.IGNORECASE,
)
COLOUR_WORDS = (
    "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown", "white",
    "grey", "black",
)  # fmt: skip
"""The colour names perception reports (see :func:`perception.encoders.cpu.colour_names`)."""
_COLOUR = re.compile(r"\b(" + "|".join(COLOUR_WORDS) + r"|gray)\b", re.IGNORECASE)
_QUOTED = re.compile(r"[\"'“‘]([^\"'”’]+)[\"'”’]")
_TEXT = re.compile(
    r"(?:text|sign|word|words|caption|screen)\s+(?:says|reads|shows|saying|reading|with)?\s*"
    r"(?:the word\s+)?([A-Za-z0-9][\w\- ]{1,40})",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed instruction: a predicate and a phrase that explains a firing."""

    predicate: Predicate
    explain: Callable[[Observation], str]
    kind: str


def _number(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBERS[token.lower()]


def _count_condition(text: str) -> Condition | None:
    match = _COUNT.search(text)
    if not match:
        return None
    threshold = _number(match.group(1))
    if re.search(r"more than|over", match.group(0), re.IGNORECASE):
        threshold += 1
    return Condition(
        predicate=lambda o: o.people >= threshold,
        explain=lambda o: f"{o.people} people are visible at {o.media_time:.1f} s",
        kind=f"people>={threshold}",
    )


def _text_condition(text: str) -> Condition | None:
    match = _QUOTED.search(text) or _TEXT.search(text)
    if not match:
        return None
    wanted = match.group(1).strip().lower()

    def shows(o: Observation) -> bool:
        return any(wanted in line.lower() for line in o.text)

    return Condition(
        predicate=shows,
        explain=lambda o: f"the text '{wanted}' appeared at {o.media_time:.1f} s",
        kind=f"text~{wanted}",
    )


def _colour_condition(text: str) -> Condition | None:
    match = _COLOUR.search(text)
    if not match:
        return None
    wanted = "grey" if match.group(1).lower() == "gray" else match.group(1).lower()
    return Condition(
        predicate=lambda o: wanted in o.colours,
        explain=lambda o: f"something {wanted} came into view at {o.media_time:.1f} s",
        kind=f"colour={wanted}",
    )


def parse_condition(instruction: str) -> Condition | None:
    """The condition an instruction asks to watch for, or None when it is not understood."""
    text = instruction.lower()
    if condition := _count_condition(text):
        return condition
    if re.search(r"\b(?:text|sign|says|reads|written|caption)\b", text) and (
        condition := _text_condition(instruction)
    ):
        return condition
    if condition := _colour_condition(text):
        return condition
    if re.search(r"\bfaces?\b|\blooks? at the camera\b", text):
        return Condition(
            predicate=lambda o: o.faces >= 1,
            explain=lambda o: f"a face is visible at {o.media_time:.1f} s",
            kind="faces>=1",
        )
    if re.search(r"\bscene changes?\b|\bcut\b|\bcamera (?:moves|changes)\b", text):
        return Condition(
            predicate=lambda o: o.scene_change,
            explain=lambda o: f"the scene changed at {o.media_time:.1f} s",
            kind="scene_change",
        )
    if re.search(_PERSON + r"\s+" + _ARRIVE, text) or re.search(r"\bpeople\b|\bperson\b", text):
        return Condition(
            predicate=lambda o: o.people >= 1,
            explain=lambda o: f"{o.people} person(s) came into view at {o.media_time:.1f} s",
            kind="people>=1",
        )
    if re.search(r"\b(?:moves?|moving|motion|movement)\b", text):
        return Condition(
            predicate=lambda o: o.motion >= 0.05,
            explain=lambda o: f"movement started at {o.media_time:.1f} s",
            kind="motion",
        )
    return None


class Rearm:
    """Fires on a rise; re-arms after ``release`` low updates in a row."""

    def __init__(self, release: int = 2) -> None:
        self._release = release
        self._armed = True
        self._low = 0

    def update(self, high: bool) -> bool:
        """True when ``high`` starts a new occurrence."""
        if high:
            self._low = 0
            fire, self._armed = self._armed, False
            return fire
        self._low += 1
        if self._low >= self._release:
            self._armed = True
        return False


class EdgeTrigger:
    """A condition fired on its false-to-true edges (see :class:`Rearm`)."""

    def __init__(self, condition: Condition, *, release: int = 2) -> None:
        self.condition = condition
        self._rearm = Rearm(release)

    def update(self, observation: Observation) -> bool:
        """Feed one observation; True when this observation starts a new occurrence."""
        return self._rearm.update(self.condition.predicate(observation))
