"""The decision stage: for each stream, when to respond, and to what.

It sees perception output (observations, final utterances), requests, and answer markers from
the reaction stage (a final ``Response``), never the answer text itself. For every item it
returns what should happen next: requests to remember, triggers for the reaction stage, and
interrupts when the user talks over an answer (barge-in).

The first policy is deliberately plain:

- a question is answered once it is complete: at the end of the spoken utterance, or for a
  typed question at the first observation at or after the moment it was asked (so that the
  answer can use what is on screen then);
- a standing instruction is first understood (:mod:`decision.understanding`: the rule parser,
  the language model, or both) into a typed spec that the user is told about; it then fires,
  once per occurrence, when its watch says so (the spec's clauses over observations and
  utterances, or the trained respond/silent head, see :mod:`decision.policies`), and not
  again within ``cooldown`` media seconds; a spec the watch cannot check (``other``) is put to
  the model itself, one check in flight and at most one every ``check_interval`` media
  seconds. A firing answers with the output the instruction named, or else with what
  happened, in words (exact and instant); only the head's and the model's firings leave the
  wording to the reaction stage;
- a spoken request is taken only when it is meant for the agent (see
  :mod:`decision.addressing`);
- while the agent waits for the reply to a clarifying question (:mod:`reaction.clarify`),
  the next words of the person it asked, typed or spoken, are that reply: they go back to
  the loop as a :class:`Reply`, are no new request, and do not barge in.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace

from decision.addressing import Addressee, Addressing
from decision.policies import RulePolicy, Watch, WatchPolicy
from decision.understanding import Understander, Understanding, with_model, without_model
from decision.utterances import classify
from vigil.instructions import WatchSpec
from vigil.items import (
    Clarification,
    EndOfStream,
    Interrupt,
    Item,
    Observation,
    Reply,
    Request,
    Response,
    Trigger,
    Understood,
    Utterance,
    new_id,
)

__all__ = ["REPLY_GAP", "DecisionOptions", "DecisionStage"]

REPLY_GAP = 2.0
"""Media seconds after a spoken reply's words within which more words of the same person are
still that reply ("Yes." ... "It was up on the terrace.")."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionOptions:
    """``video``: whether streams carry video (questions then wait for a fresh observation).

    ``barge_in``: a final utterance while an answer streams interrupts it.
    ``cooldown``: media seconds after an instruction fired during which it stays quiet.
    ``agent_name``, ``addressing``, ``follow_up``: see :class:`decision.addressing.Addressee`.
    ``understanding``: who reads instructions (see :mod:`decision.understanding`);
    ``check_interval``: media seconds between two model checks of an ``other`` instruction.
    """

    video: bool = True
    barge_in: bool = True
    cooldown: float = 5.0
    agent_name: str = "Vigil"
    addressing: Addressing = "auto"
    follow_up: float = 15.0
    understanding: Understanding = "auto"
    check_interval: float = 5.0


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
    reading: dict[str, tuple[Request, asyncio.Task[WatchSpec]]] = field(default_factory=dict)
    checked: dict[str, Request] = field(default_factory=dict)  # put to the model each moment
    checking: dict[str, asyncio.Task[str | None]] = field(default_factory=dict)
    last_check: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # instruction id -> output asked for
    tells: set[str] = field(default_factory=set)  # instructions answered with their evidence
    clarifying: dict[str, str] = field(default_factory=dict)  # speaker -> request id asked back
    # speaker -> (request id, end of their reply's last words): words soon after are more of it
    replying: dict[str, tuple[str, float]] = field(default_factory=dict)
    speaking_since: dict[str, float] = field(default_factory=dict)  # speaker -> a partial's t0


class DecisionStage:
    """Keeps each stream's open requests and decides, item by item, when to respond."""

    def __init__(
        self,
        options: DecisionOptions | None = None,
        policy: WatchPolicy | None = None,
        understander: Understander | None = None,
    ) -> None:
        self.options = options or DecisionOptions()
        self.policy = policy or RulePolicy()
        self.understander = understander
        self._streams: dict[str, _StreamState] = {}
        self.understood: list[Understood] = []

    def _state(self, stream_id: str) -> _StreamState:
        if stream_id not in self._streams:
            o = self.options
            addressee = Addressee(o.agent_name, o.addressing, o.follow_up)
            self._streams[stream_id] = _StreamState(addressee)
        return self._streams[stream_id]

    async def handle(self, item: Item) -> list[Item]:
        """Everything that follows from ``item``: requests, triggers and interrupts (and what
        instructions read or checked by the model meanwhile have come to)."""
        done = self._harvest(item.stream_id)
        match item:
            case Request():
                return done + self._on_request(item)
            case Observation():
                return done + self._on_observation(item)
            case Utterance(final=True):
                return done + self._on_utterance(item)
            case Utterance():  # partial: someone started speaking
                state = self._state(item.stream_id)
                state.speaking_since[item.speaker] = item.t0
                if (request_id := self._continued(state, item)) is not None:
                    return [*done, _as_reply(item, request_id)]
                return done + self._barge_in(item)
            case Clarification():
                state = self._state(item.stream_id)
                state.clarifying[item.speaker] = item.request_id
                state.replying.pop(item.speaker, None)  # what they say next is a new reply
                state.answering.pop(item.request_id, None)  # waiting, not speaking
                return done
            case Response():
                state = self._state(item.stream_id)
                state.clarifying = {
                    s: r for s, r in state.clarifying.items() if r != item.request_id
                }
                state.replying = {
                    s: held for s, held in state.replying.items() if held[0] != item.request_id
                }
                state.answering.pop(item.request_id, None)
                state.answered.add(item.request_id)
                state.last_answer = item.media_time
                return []
            case EndOfStream():
                return done + self._on_end(item)
            case _:
                return done

    async def settle(self, stream_id: str) -> list[Item]:
        """Wait until every instruction given to the stream so far has been understood; what
        that (and model checks meanwhile) brings."""
        reading = [task for _, task in self._state(stream_id).reading.values()]
        if reading:
            await asyncio.wait(reading)
        return self._harvest(stream_id)

    def awaits_reply(self, stream_id: str, speaker: str) -> bool:
        """Whether ``speaker``'s next words answer a clarifying question."""
        return speaker in self._state(stream_id).clarifying

    def open_requests(self, stream_id: str) -> list[Request]:
        """Questions not yet answered and instructions being watched or read."""
        state = self._state(stream_id)
        return [
            *state.pending,
            *(request for request, _ in state.watches.values()),
            *state.checked.values(),
            *(request for request, _ in state.reading.values()),
        ]

    def _reply(self, state: _StreamState, item: Request | Utterance) -> list[Item]:
        """``item`` as the reply to a clarifying question its speaker was asked (or more words
        of their spoken reply), if one is open; and, when they are already speaking again
        past these words, that more is coming."""
        request_id = state.clarifying.pop(item.speaker, None)
        if request_id is None and isinstance(item, Utterance):
            request_id = self._continued(state, item)
        if request_id is None:
            return []
        out: list[Item] = [_as_reply(item, request_id)]
        if isinstance(item, Utterance):
            state.replying[item.speaker] = (request_id, item.t1)
            if state.speaking_since.get(item.speaker, -1.0) > item.t1:  # its onset came first
                out.append(replace(out[0], text="", partial=True))
        return out

    def _continued(self, state: _StreamState, utterance: Utterance) -> str | None:
        """The request whose spoken reply ``utterance`` goes on with: words of the same person
        that began within :data:`REPLY_GAP` of their reply's last ones."""
        held = state.replying.get(utterance.speaker)
        if held is None:
            return None
        request_id, end = held
        if utterance.t0 > end + REPLY_GAP:
            del state.replying[utterance.speaker]
            return None
        return request_id

    def _on_request(self, request: Request) -> list[Item]:
        state = self._state(request.stream_id)
        if reply := self._reply(state, request):
            return reply
        if request.kind == "instruction":
            model = self.understander
            spec = without_model(request.text, model is not None, self.options.understanding)
            if spec is not None:
                return [self._install(state, request, spec)]
            assert model is not None
            reading = asyncio.ensure_future(with_model(request.text, model.compile))
            state.reading[request.request_id] = (request, reading)
            return []
        last = state.last_observation
        answerable = not self.options.video or (
            last is not None and last.media_time >= request.media_time
        )
        if request.origin == "spoken" or answerable:
            return [self._trigger(request, asked_at=request.media_time)]
        state.pending.append(request)
        return []

    def _install(self, state: _StreamState, request: Request, spec: WatchSpec) -> Understood:
        """Watch ``request`` as ``spec`` says; how it was understood, to tell the user."""
        checked = spec.model_checked and isinstance(self.policy, RulePolicy)
        if checked and self.understander is None:
            return self._understood(request, None, "not understood", spec.source)
        kind = spec.kind
        state.outputs[request.request_id] = spec.output
        if checked:
            state.checked[request.request_id] = request
        else:
            watch = self.policy.watch(spec, request.text)
            state.watches[request.request_id] = (request, watch)
            kind = watch.kind  # the head's threshold, when the head watches
            if isinstance(self.policy, RulePolicy):
                state.tells.add(request.request_id)
        return self._understood(request, kind, spec.describe(), spec.source)

    def _understood(
        self, request: Request, condition: str | None, description: str, source: str
    ) -> Understood:
        understood = Understood(
            stream_id=request.stream_id,
            media_time=request.media_time,
            request=request,
            condition=condition,
            description=description,
            source=source,
        )
        self.understood.append(understood)
        return understood

    def _harvest(self, stream_id: str) -> list[Item]:
        """Install instructions whose reading finished; triggers for model checks that said
        yes."""
        state = self._state(stream_id)
        out: list[Item] = []
        for request_id, (request, task) in list(state.reading.items()):
            if task.done():
                del state.reading[request_id]
                out.append(self._install(state, request, task.result()))
        for request_id, task in list(state.checking.items()):
            if not task.done():
                continue
            del state.checking[request_id]
            request = state.checked.get(request_id)
            evidence = None if task.cancelled() or task.exception() else task.result()
            at = state.last_check[request_id]
            if request is not None and evidence:
                out.extend(self._fire(state, request, at, evidence))
        return out

    def _fire(self, state: _StreamState, request: Request, at: float, evidence: str) -> list[Item]:
        """A trigger for an occurrence, unless the instruction fired within the cooldown."""
        last = state.fired.get(request.request_id)
        if last is not None and at - last < self.options.cooldown:
            return []
        state.fired[request.request_id] = at
        output = state.outputs.get(request.request_id, "")
        if not output and request.request_id in state.tells:
            output = evidence[:1].upper() + evidence[1:] + "."
        return [self._trigger(request, asked_at=at, evidence=evidence, output=output)]

    def _watch(self, state: _StreamState, item: Observation | Utterance) -> list[Item]:
        """Feed ``item`` to every watch, and start due model checks."""
        out: list[Item] = []
        for request, watch in list(state.watches.values()):
            if evidence := watch.update(item):
                out.extend(self._fire(state, request, item.media_time, evidence))
        for request_id, request in state.checked.items():
            last = state.last_check.get(request_id)
            due = last is None or item.media_time - last >= self.options.check_interval
            if due and request_id not in state.checking and self.understander is not None:
                state.last_check[request_id] = item.media_time
                check = self.understander.check(item.stream_id, request.text, item.media_time)
                state.checking[request_id] = asyncio.ensure_future(check)
        return out

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
        return out + self._watch(state, observation)

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
        state = self._state(utterance.stream_id)
        if reply := self._reply(state, utterance):
            return reply
        out: list[Item] = self._barge_in(utterance)
        out.extend(self._watch(state, utterance))  # before it may itself become an instruction
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
        state.checked.clear()
        for task in state.checking.values():
            task.cancel()
        state.checking.clear()
        return out

    def _trigger(
        self, request: Request, *, asked_at: float, evidence: str = "", output: str = ""
    ) -> Trigger:
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
            output=output,
            stamps={"asked": asked_wall, "decision": now},
        )


def _as_reply(item: Request | Utterance, request_id: str) -> Reply:
    spoken = isinstance(item, Utterance)
    return Reply(
        stream_id=item.stream_id,
        media_time=item.media_time,
        request_id=request_id,
        text=item.text,
        speaker=item.speaker,
        spoken=spoken,
        partial=isinstance(item, Utterance) and not item.final,
    )
