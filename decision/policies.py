"""When a standing instruction fires: two pluggable policies with one interface.

``rules`` (the default) watches the instruction as understood (a
:class:`~vigil.instructions.WatchSpec`, see :mod:`decision.understanding`) with predicates
over observations and utterances (:mod:`decision.conditions`). ``head`` scores every
observation with the trained respond/silent head (:mod:`decision.head`) and fires when the
probability crosses its calibrated threshold. Both fire once per occurrence: a firing re-arms
only after ``release`` observations in a row below the bar, so a flickering detector does not
repeat an answer.
"""

from __future__ import annotations

from typing import Protocol

from decision.conditions import Rearm, SpecWatch
from decision.features import Target, features
from decision.head import RespondHead
from vigil.instructions import WatchSpec
from vigil.items import Observation, Utterance

__all__ = ["HeadPolicy", "RulePolicy", "Watch", "WatchPolicy"]


class Watch(Protocol):
    """One instruction being watched."""

    kind: str
    """How the instruction was understood, told back to the user."""

    def update(self, item: Observation | Utterance) -> str | None:
        """The evidence to answer with when ``item`` starts an occurrence, else None."""
        ...


class WatchPolicy(Protocol):
    def watch(self, spec: WatchSpec, instruction: str) -> Watch:
        """A watch for ``instruction``, understood as ``spec``."""
        ...


class RulePolicy:
    """The spec's clauses checked on what perception reports."""

    def __init__(self, release: int = 2) -> None:
        self.release = release

    def watch(self, spec: WatchSpec, instruction: str) -> Watch:
        return SpecWatch(spec, release=self.release)


class _HeadWatch:
    def __init__(self, head: RespondHead, target: Target, release: int) -> None:
        self._head = head
        self._target = target
        self._edge = Rearm(release)
        self._before: Observation | None = None
        self.kind = f"head>={head.threshold:.2f}"

    def update(self, item: Observation | Utterance) -> str | None:
        if not isinstance(item, Observation):
            return None  # the head reads the picture only
        observation = item
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

    def watch(self, spec: WatchSpec, instruction: str) -> Watch:
        return _HeadWatch(self.head, Target.parse(instruction), self.release)
