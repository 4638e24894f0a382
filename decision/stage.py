"""The decision stage: for each stream, when to respond, and to what.

It sees perception output (observations, final utterances), requests, and answer markers from
the reaction stage (a final ``Response``), never the answer text itself. For every item it
returns what should happen next: requests to remember, triggers for the reaction stage, and
interrupts when the user talks over an answer (barge-in).

The first policy is deliberately plain:

- a question is answered once it is complete: at the end of the spoken utterance, or for a
  typed question at the first observation at or after the moment it was asked (so that the
  answer can use what is on screen then);
- a standing instruction fires, once per occurrence, when its watch says so: a parsed
  condition or the trained respond/silent head (see :mod:`decision.policies`), and not again
  within ``cooldown`` media seconds;
- a spoken request is taken only when it is meant for the agent (see
  :mod:`decision.addressing`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from decision.addressing import Addressee, Addressing
from decision.policies import RulePolicy, Watch, WatchPolicy
from decision.utterances import classify
from vigil.items import (
    EndOfStream,
    Interrupt,
    Item,
    Observation,
    Request,
    Response,
    Trigger,
    Utterance,
    new_id,
)

__all__ = ["DecisionOptions", "DecisionStage", "UnderstoodInstruction"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionOptions:
    """``video``: whether streams carry video (questions then wait for a fresh observation).

    ``barge_in``: a final utterance while an answer streams interrupts it.
    ``cooldown``: media seconds after an instruction fired during which it stays quiet.
    ``agent_name``, ``addressing``, ``follow_up``: see :class:`decision.addressing.Addressee`.
    """

    video: bool = True
    barge_in: bool = True
    cooldown: float = 5.0
    agent_name: str = "Vigil"
    addressing: Addressing = "auto"
    follow_up: float = 15.0


@dataclass(frozen=True, slots=True)
class UnderstoodInstruction:
    """How a standing instruction was understood, reported back to the user."""

    request: Request
    condition: str | None


@dataclass(slots=True)
class _StreamState:
    addressee: Addressee
    pending: list[Request] = field(default_factory=list)
    watches: dict[str, tuple[Request, Watch]] = field(default_factory=dict)
    answering: dict[str, float] = field(default_factory=dict)  # request id -> media time asked
    answered: set[str] = field(default_factory=set)
    fired: dict[str, float] = field(default_factory=dict)  # instruction id -> last media time
    last_answer: float | None = None
    last_observation: Observation | None = None


class DecisionStage:
    """Keeps each stream's open requests and decides, item by item, when to respond."""

    def __init__(
        self, options: DecisionOptions | None = None, policy: WatchPolicy | None = None
    ) -> None:
        self.options = options or DecisionOptions()
        self.policy = policy or RulePolicy()
        self._streams: dict[str, _StreamState] = {}
        self.understood: list[UnderstoodInstruction] = []

    def _state(self, stream_id: str) -> _StreamState:
        if stream_id not in self._streams:
            o = self.options
            addressee = Addressee(o.agent_name, o.addressing, o.follow_up)
            self._streams[stream_id] = _StreamState(addressee)
        return self._streams[stream_id]

    async def handle(self, item: Item) -> list[Item]:
        """Everything that follows from ``item``: requests, triggers and interrupts."""
        match item:
            case Request():
                return self._on_request(item)
            case Observation():
                return self._on_observation(item)
            case Utterance(final=True):
                return self._on_utterance(item)
            case Utterance():  # partial: someone started speaking
                return self._barge_in(item)
            case Response():
                state = self._state(item.stream_id)
                state.answering.pop(item.request_id, None)
                state.answered.add(item.request_id)
                state.last_answer = item.media_time
                return []
            case EndOfStream():
                return self._on_end(item)
            case _:
                return []

    def open_requests(self, stream_id: str) -> list[Request]:
        """Questions not yet answered and instructions being watched."""
        state = self._state(stream_id)
        return [*state.pending, *(request for request, _ in state.watches.values())]

    def _on_request(self, request: Request) -> list[Item]:
        state = self._state(request.stream_id)
        if request.kind == "instruction":
            watch = self.policy.watch(request.text)
            self.understood.append(UnderstoodInstruction(request, watch.kind if watch else None))
            if watch is not None:
                state.watches[request.request_id] = (request, watch)
            return []
        last = state.last_observation
        answerable = not self.options.video or (
            last is not None and last.media_time >= request.media_time
        )
        if request.origin == "spoken" or answerable:
            return [self._trigger(request, asked_at=request.media_time)]
        state.pending.append(request)
        return []

    def _on_observation(self, observation: Observation) -> list[Item]:
        state = self._state(observation.stream_id)
        state.last_observation = observation
        out: list[Item] = []
        still_pending = []
        for request in state.pending:
            if observation.media_time >= request.media_time:
                out.append(self._trigger(request, asked_at=observation.media_time))
            else:
                still_pending.append(request)
        state.pending = still_pending
        for request, watch in state.watches.values():
            evidence = watch.update(observation)
            last = state.fired.get(request.request_id)
            if evidence and (
                last is None or observation.media_time - last >= self.options.cooldown
            ):
                state.fired[request.request_id] = observation.media_time
                out.append(
                    self._trigger(request, asked_at=observation.media_time, evidence=evidence)
                )
        return out

    def _barge_in(self, utterance: Utterance) -> list[Item]:
        """An interrupt if an answer is being given while ``utterance`` is spoken.

        Partial utterances come as soon as speech has lasted ``min_speech``, so the answer
        stops a fraction of a second after the user starts talking, not after they finish.
        """
        state = self._state(utterance.stream_id)
        # Speech that began before the answer was asked (in media time) is not speaking over
        # it: unpaced, perception may report such speech after the answer started.
        if not (
            self.options.barge_in
            and state.answering
            and utterance.t0 >= min(state.answering.values())
        ):
            return []
        state.answering.clear()
        return [
            Interrupt(
                stream_id=utterance.stream_id,
                media_time=utterance.t0,
                reason=f"{utterance.speaker} spoke during an answer",
            )
        ]

    def _on_utterance(self, utterance: Utterance) -> list[Item]:
        out: list[Item] = self._barge_in(utterance)
        state = self._state(utterance.stream_id)
        state.addressee.learn(utterance.speaker, utterance.text)
        intent = classify(utterance.text)
        if intent == "statement" or not state.addressee.addressed(
            utterance.text, t0=utterance.t0, last_answer=state.last_answer
        ):
            return out
        request = Request(
            stream_id=utterance.stream_id,
            media_time=utterance.t1,
            request_id=new_id(),
            kind=intent,
            text=utterance.text.strip(),
            speaker=utterance.speaker,
            origin="spoken",
            stamps=utterance.stamps,
        )
        out.append(request)
        out.extend(self._on_request(request))
        return out

    def _on_end(self, end: EndOfStream) -> list[Item]:
        """Questions still waiting for a picture are answered with what there is."""
        state = self._state(end.stream_id)
        out: list[Item] = [self._trigger(r, asked_at=end.media_time) for r in state.pending]
        state.pending = []
        state.watches.clear()
        return out

    def _trigger(self, request: Request, *, asked_at: float, evidence: str = "") -> Trigger:
        """A trigger whose ``asked`` stamp is when the request became answerable.

        For speech that is when the words were heard (stamped by perception), so latency counts
        the time spent detecting the end of speech and transcribing it.
        """
        self._state(request.stream_id).answering[request.request_id] = asked_at
        now = time.time()
        asked_wall = request.stamps.get("heard", now) if request.origin == "spoken" else now
        return Trigger(
            stream_id=request.stream_id,
            media_time=asked_at,
            trigger_id=new_id(),
            request=request,
            asked_at=asked_at,
            evidence=evidence,
            stamps={"asked": asked_wall, "decision": now},
        )
