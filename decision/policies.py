"""When a standing instruction fires: two pluggable policies with one interface.

``rules`` (the default) parses the instruction into a predicate over observation fields
(:mod:`decision.conditions`). ``head`` scores every observation with the trained
respond/silent head (:mod:`decision.head`) and fires when the probability crosses its
calibrated threshold. Both fire once per occurrence: a firing re-arms only after ``release``
observations in a row below the bar, so a flickering detector does not repeat an answer.
"""

from __future__ import annotations

from typing import Protocol

from decision.conditions import EdgeTrigger, Rearm, parse_condition
from decision.features import Target, features
from decision.head import RespondHead
from vigil.items import Observation

__all__ = ["HeadPolicy", "RulePolicy", "Watch", "WatchPolicy"]


class Watch(Protocol):
    """One instruction being watched."""

    kind: str
    """How the instruction was understood, told back to the user."""

    def update(self, observation: Observation) -> str | None:
        """The evidence to answer with when ``observation`` starts an occurrence, else None."""
        ...


class WatchPolicy(Protocol):
    def watch(self, instruction: str) -> Watch | None:
        """A watch for ``instruction``, or None when this policy cannot follow it."""
        ...


class _RuleWatch:
    def __init__(self, edge: EdgeTrigger) -> None:
        self._edge = edge
        self.kind = edge.condition.kind

    def update(self, observation: Observation) -> str | None:
        if self._edge.update(observation):
            return self._edge.condition.explain(observation)
        return None


class RulePolicy:
    """Instructions parsed into predicates; ones it cannot parse are not watched."""

    def __init__(self, release: int = 2) -> None:
        self.release = release

    def watch(self, instruction: str) -> Watch | None:
        condition = parse_condition(instruction)
        return (
            None if condition is None else _RuleWatch(EdgeTrigger(condition, release=self.release))
        )


class _HeadWatch:
    def __init__(self, head: RespondHead, target: Target, release: int) -> None:
        self._head = head
        self._target = target
        self._edge = Rearm(release)
        self._before: Observation | None = None
        self.kind = f"head>={head.threshold:.2f}"

    def update(self, observation: Observation) -> str | None:
        p = self._head.probability(features(self._target, observation, self._before))
        self._before = observation
        if not self._edge.update(p >= self._head.threshold):
            return None
        return f"at {observation.media_time:.1f} s the picture shows {observation.description}"


class HeadPolicy:
    """Every instruction is watched by the trained head (it needs no parse to score)."""

    def __init__(self, head: RespondHead, release: int = 2) -> None:
        self.head = head
        self.release = release

    def watch(self, instruction: str) -> Watch | None:
        return _HeadWatch(self.head, Target.parse(instruction), self.release)
