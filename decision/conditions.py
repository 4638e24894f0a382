"""Watching a :class:`~vigil.instructions.WatchSpec`: its clauses checked on what perception
reports, fired once per occurrence.

Picture clauses (on-screen text, colours, counts, faces, cuts, motion) describe a lasting
state: they are checked on every observation and fire on a rise, re-arming only after
``release`` observations in a row without it, so a flickering detector does not repeat an
answer. Speech clauses (a word said, a named person speaking, a question) are events: each
final utterance that fits is an occurrence. A spec that mixes both ("when Alice speaks while a
red card is up") fires on the utterance, with the picture clauses checked on the latest
observation.

Matching forgives what perception gets slightly wrong: OCR slips in on-screen text, plurals
and Whisper's spelling in speech.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from decision.utterances import classify
from vigil.instructions import Clause, WatchSpec
from vigil.items import Observation, Utterance

__all__ = ["EdgeTrigger", "Rearm", "SpecWatch", "mentions", "shows_text", "state_holds"]

_WORD = re.compile(r"[a-z0-9']+")
_MOTION = 0.05
"""Share of the picture that changed above which it counts as motion."""


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _same_word(a: str, b: str) -> bool:
    """Equal up to a plural or possessive ending, or one slip in a long word."""
    if a == b:
        return True
    for x, y in ((a, b), (b, a)):
        if y.startswith(x) and y[len(x) :] in ("s", "es", "'s", "s'"):
            return True
    return min(len(a), len(b)) >= 5 and SequenceMatcher(None, a, b).ratio() >= 0.85


def _contains(wanted: list[str], words: list[str]) -> bool:
    """Whether ``wanted`` occurs in ``words`` as a run (each word forgiven a slip)."""
    n = len(wanted)
    return any(
        all(_same_word(w, x) for w, x in zip(wanted, words[i : i + n], strict=True))
        for i in range(len(words) - n + 1)
    )


def shows_text(wanted: str, observation: Observation) -> bool:
    """Whether any line read on screen holds ``wanted``: as words, or with OCR's slips (a
    missing space, a misread letter) within one line."""
    target = _words(wanted)
    if not target:
        return False
    squashed = "".join(target)
    for line in observation.text:
        words = _words(line)
        if _contains(target, words):
            return True
        joined = "".join(words)
        if squashed in joined:
            return True
        if len(squashed) >= 4 and any(
            SequenceMatcher(None, squashed, joined[i : i + len(squashed)]).ratio() >= 0.8
            for i in range(max(1, len(joined) - len(squashed) + 1))
        ):
            return True
    return False


def mentions(wanted: str, text: str) -> bool:
    """Whether ``text`` (a transcript) says ``wanted`` (a word or a short phrase)."""
    target = [w for w in _words(wanted) if w not in ("the", "a", "an")]
    return bool(target) and _contains(target, _words(text))


def state_holds(clause: Clause, observation: Observation) -> bool:
    """Whether a picture clause holds on ``observation``."""
    match clause.kind:
        case "text_on_screen":
            return shows_text(clause.value, observation)
        case "colour_on_screen":
            return clause.value in observation.colours
        case "people_at_least":
            return observation.people >= clause.count
        case "people_at_most":
            return observation.people <= clause.count
        case "face_visible":
            return observation.faces >= max(1, clause.count)
        case "scene_change":
            return observation.scene_change
        case "motion":
            return observation.motion >= _MOTION
        case _:
            return False


def event_holds(clause: Clause, utterance: Utterance) -> bool:
    """Whether a speech clause holds for one final utterance."""
    match clause.kind:
        case "speech_mentions":
            return mentions(clause.value, utterance.text)
        case "person_speaks":
            return utterance.speaker.lower() == clause.value.lower()
        case "question_asked":
            return classify(utterance.text) == "question"
        case _:
            return False


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
    """Picture clauses fired on their false-to-true edges (see :class:`Rearm`)."""

    def __init__(self, clauses: tuple[Clause, ...], combine: str, *, release: int = 2) -> None:
        self.clauses = clauses
        self.combine = combine
        self._rearm = Rearm(release)

    def holding(self, observation: Observation) -> list[Clause]:
        return [c for c in self.clauses if state_holds(c, observation)]

    def high(self, observation: Observation) -> bool:
        held = len(self.holding(observation))
        return held == len(self.clauses) if self.combine == "all" else held > 0

    def update(self, observation: Observation) -> bool:
        """Feed one observation; True when it starts a new occurrence."""
        return self._rearm.update(self.high(observation))


def _explain(clause: Clause, item: Observation | Utterance) -> str:
    at = f"at {item.media_time:.1f} s"
    match clause.kind:
        case "text_on_screen":
            return f"the text '{clause.value}' appeared {at}"
        case "colour_on_screen":
            return f"something {clause.value} came into view {at}"
        case "people_at_least" | "people_at_most":
            count = item.people if isinstance(item, Observation) else "?"
            return f"{count} people are visible {at}"
        case "face_visible":
            return f"a face is visible {at}"
        case "scene_change":
            return f"the scene changed {at}"
        case "motion":
            return f"movement started {at}"
        case _:
            assert isinstance(item, Utterance)
            return f"{item.speaker} said {item.text.strip()!r} {at}"


class SpecWatch:
    """Watches one spec's clauses (``other`` clauses are the model's, see the stage)."""

    def __init__(self, spec: WatchSpec, *, release: int = 2) -> None:
        self.spec = spec
        self.kind = spec.kind
        self._events = tuple(c for c in spec.clauses if c.event)
        self._states = EdgeTrigger(
            tuple(c for c in spec.clauses if not c.event and c.kind != "other"),
            spec.combine,
            release=release,
        )
        self._latest: Observation | None = None

    def update(self, item: Observation | Utterance) -> str | None:
        """The evidence to answer with when ``item`` starts an occurrence, else None."""
        if isinstance(item, Observation):
            self._latest = item
            states = self._states
            fire = states.clauses and (not self._events or self.spec.combine == "any")
            if fire and states.update(item):
                return "; ".join(_explain(c, item) for c in states.holding(item))
            return None
        if not item.final or not self._events:
            return None
        held = [c for c in self._events if event_holds(c, item)]
        if self.spec.combine == "any":
            return _explain(held[0], item) if held else None
        if len(held) < len(self._events):
            return None
        latest = self._latest
        if self._states.clauses and (latest is None or not self._states.high(latest)):
            return None
        evidence = [_explain(held[0], item)]
        if latest is not None and self._states.clauses:
            evidence += [_explain(c, latest) for c in self._states.holding(latest)]
        return "; ".join(evidence)
