"""The reaction actor: answers triggers in the background and streams the answers out.

``submit`` returns as soon as the work is queued, so the decision stage (and perception behind
it) never waits for generation. Triggers are answered in the order they came, as many at once
as the backend generates (:class:`~reaction.answer_queue.AnswerQueue`); when some must wait,
the stream is told once. Deltas go to the event hub as they come; the final response also
goes to memory, and back to the decision stage as the answer marker it needs for turn-taking.
``interrupt`` cancels what is being generated for a stream and what it has waiting
(barge-in).

Between answers, ``watch`` keeps the backend's prompt cache warm with the stream's timeline
(see :meth:`ReactionStage.prefill`), so that a question pays only for its own few tokens.
One backend holds one cached prompt: with several streams on one actor, the last one
prefilled is the warm one.

A question that could mean several things is asked back first (:mod:`reaction.clarify`): the
request is looked up in what was said and in the user's documents, and when that turns up
several plausible targets the loop asks the person, who was told through the hub, the
sinks and the decision stage (which routes their reply back through ``reply``). Only
questions someone can reply to are asked back; a question with options never is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from decision.ambiguity import unresolved_reference
from memory.embeddings import TextEmbedder
from reaction.answer_queue import AnswerQueue
from reaction.choices import parse_choices
from reaction.clarify import ClarifyAgent, LiveClarify
from reaction.engine import ReactionStage
from reaction.search import MemorySearch, Searcher
from reaction.sinks import Sink, fan_out
from runtime.actors.supervised import Supervised
from vigil.instructions import WatchSpec
from vigil.items import (
    Clarification,
    Interrupt,
    Notice,
    Reply,
    Response,
    StreamError,
    Trigger,
    Utterance,
    new_id,
)

__all__ = ["ReactionActor"]

log = logging.getLogger(__name__)

DECLINED_BACKOFF = 5.0
"""Seconds before a stream asks again to prefill after the model declined."""
REPLY_SETTLE = 1.5
"""Seconds after a spoken reply's words during which more of them may still begin (a person
who said "Yes." and goes on); a typed reply is taken at once."""
REPLY_MORE = 15.0
"""Seconds a spoken reply waits for the transcript of more words that have begun."""
FRAMES_WAIT = 2.0
"""Seconds an answer waits for perception's newest frames before it goes on without them."""


class ReactionActor(Supervised):
    """Wrapped with ``ray.remote`` by the graph; ``memory``, ``hub`` are actor handles."""

    def __init__(
        self,
        stage: Callable[[], ReactionStage],
        *,
        memory: Any,
        hub: Any,
        recall: bool = False,
        sinks: Callable[[], list[Sink]] = list,
        clarify: Callable[[], LiveClarify | None] | None = None,
        frames: bool = False,
    ) -> None:
        # Built in ``ready``, so that a model or port that fails raises from a method call,
        # whose error reaches the driver intact (a constructor's does not).
        self._factories = (stage, sinks, clarify)
        self._stage: ReactionStage
        self._sinks: list[Sink] = []
        self._clarify: LiveClarify | None = None
        self._searchers: list[Searcher] = []
        self._replies: dict[str, asyncio.Future[str]] = {}  # request id -> its reply
        self._heard: dict[str, list[str]] = {}  # request id -> a spoken reply's pieces so far
        self._settling: dict[str, asyncio.TimerHandle] = {}  # request id -> when it is taken
        self._text_embedder: TextEmbedder | None = None
        self._memory = memory
        self._recall = recall  # whether memory is long-term and can recall earlier sessions
        self._hub = hub
        self._decision: Any = None
        self._perception: Any = None
        self._frames = frames  # whether answers show the newest frames (reaction.frames)
        self._queue: AnswerQueue
        self._told_to_wait: set[str] = set()  # streams told that their answers wait
        self._direct: set[asyncio.Task[None]] = set()  # answers that need no model
        self._watchers: dict[str, asyncio.Task[None]] = {}
        # Set by ``ready``: calls that need the model wait for it (on an instance Ray has just
        # restarted, until the supervisor has set it up again).
        self._set_up = asyncio.Event()
        self.answered = 0
        self.cancelled = 0
        self.prefills = 0

    async def ready(self) -> bool:
        """Load the model (and warm its prompt prefix) before the stream starts."""
        stage, sinks, clarify = self._factories
        self._stage, self._sinks = stage(), sinks()
        self._clarify = clarify() if clarify is not None else None
        if self._clarify is not None:  # the embedder loads at the first search, not here
            self._text_embedder = TextEmbedder()
            self._searchers = self._clarify.searchers(self._text_embedder)
        self._queue = AnswerQueue(self._answer, workers=self._stage.backend.concurrency)
        await self._stage.start()
        await asyncio.gather(*(sink.start() for sink in self._sinks))
        self._set_up.set()
        return True

    async def connect(self, decision: Any, perception: Any = None) -> None:
        """The decision actor, for answer markers, and the perception actor, for the newest
        frames (both are created after this actor)."""
        self._decision = decision
        self._perception = perception

    async def watch(self, stream_id: str, interval: float = 0.2) -> None:
        """Prefill the stream's timeline soon after its memory changes, while no answer runs.

        Memory is polled every ``interval`` seconds for its version (a number, not a copy),
        so a new observation is in the backend's cache a fraction of a second after it was
        stored, ready for a question that follows it.
        """
        if stream_id not in self._watchers:
            self._watchers[stream_id] = asyncio.create_task(self._keep_warm(stream_id, interval))

    async def _keep_warm(self, stream_id: str, interval: float) -> None:
        warmed = None
        while True:
            await asyncio.sleep(interval)
            if self._queue.busy:
                continue
            version = await self._memory.version.remote(stream_id)
            if version == warmed:
                continue
            snapshot = await self._memory.snapshot.remote(stream_id)
            try:
                outcome = await self._stage.prefill(
                    observations=snapshot.observations,
                    utterances=snapshot.utterances,
                )
            except Exception:  # a failed prefill costs speed, never the stream
                log.exception("prefill for stream %s failed", stream_id)
                continue
            if outcome == "declined":  # a shared model is busy elsewhere: ask again later
                await asyncio.sleep(DECLINED_BACKOFF)
                continue
            self.prefills += 1
            if outcome == "done":
                warmed = version

    async def compile_instruction(self, instruction: str) -> WatchSpec | None:
        """The model's reading of a standing instruction, for the decision stage."""
        await self._set_up.wait()
        return await self._stage.compile_instruction(instruction)

    async def check_instruction(
        self, stream_id: str, instruction: str, media_time: float
    ) -> str | None:
        """The model's judgement whether an instruction no condition fits is being met at
        ``media_time``: the evidence when it is, else None."""
        await self._set_up.wait()
        snapshot = await self._memory.snapshot.remote(stream_id)
        try:
            happening = await self._stage.check_instruction(
                instruction,
                media_time=media_time,
                observations=snapshot.observations,
                utterances=snapshot.utterances,
            )
        except Exception:  # a failed check is a missed moment, never a lost stream
            log.exception("checking %r failed", instruction)
            return None
        return f"the model judged it happening at {media_time:.1f} s" if happening else None

    async def submit(self, trigger: Trigger) -> None:
        """Queue ``trigger``; the first time a stream's answers must wait, tell it so.

        An instruction whose answer is already written (``output``) needs no model and waits
        for nothing: it goes out at once, whatever is queued.
        """
        await self._set_up.wait()
        if trigger.output:
            task = asyncio.create_task(self._answer(trigger))
            self._direct.add(task)
            task.add_done_callback(self._direct.discard)
            return
        ahead = await self._queue.put(trigger)
        stream = trigger.stream_id
        if ahead and stream not in self._told_to_wait:
            self._told_to_wait.add(stream)
            notice = Notice(
                stream_id=stream,
                media_time=trigger.media_time,
                text=f"{ahead} answer(s) ahead of {trigger.request.text!r}: questions are "
                "answered in the order asked",
            )
            await self._hub.put.remote([notice])

    async def interrupt(self, interrupt: Interrupt) -> int:
        """Cancel the stream's answers in progress and drop its waiting ones; how many."""
        await self._set_up.wait()
        running = self._queue.running(interrupt.stream_id)
        for trigger in running:
            self._stage.cancel(trigger.request.request_id)
        return len(running) + len(self._queue.drop(interrupt.stream_id))

    async def resubmit(self, triggers: list[Trigger]) -> bool:
        """Queue again, in order, the answers a restart lost (for the supervisor, right after
        it set this instance up). False on an instance that is not set up: the one set up
        died meanwhile and Ray started this one, which the supervisor's next check sets up."""
        if not self._set_up.is_set():
            return False
        for trigger in triggers:
            await self.submit(trigger)
        return True

    async def idle(self) -> None:
        """Wait until no answer waits or is in progress on any stream. An instance Ray has
        just restarted, not yet set up, has none (what it lost, the supervisor queues again)."""
        if not self._set_up.is_set():
            return
        while self._direct:
            await asyncio.wait(set(self._direct))
        await self._queue.idle()

    async def waiting(self) -> int:
        """Answers waiting for their turn (for metrics and tests); none on an instance Ray has
        just restarted (a metric must not wait for its model to load)."""
        return self._queue.waiting if self._set_up.is_set() else 0

    async def _answer(self, trigger: Trigger) -> None:
        if not self._queue.waiting:
            self._told_to_wait.discard(trigger.stream_id)  # the next wait is a new one
        snapshot = await self._memory.snapshot.remote(trigger.stream_id)
        try:
            recalled = (
                await self._memory.recall.remote(trigger.request.text) if self._recall else []
            )
            answer = self._stage.respond(
                trigger,
                observations=snapshot.observations,
                utterances=snapshot.utterances,
                answers=snapshot.answers,
                recalled=recalled,
                frames=await self._recent_frames(trigger),
            )
            if agent := self._clarifier(trigger, snapshot.utterances):
                found = await agent.look(trigger.request.text)
                if agent.ambiguous(trigger.request.text, found):
                    await answer.aclose()
                    answer = self._stage.clarify(trigger, agent, self._asker(trigger), found)
            async for item in answer:
                await self._hub.put.remote([item])
                await fan_out(self._sinks, item)
                if isinstance(item, Response):
                    await self._finish(item)
        except Exception as error:  # one failed answer must not take the stream down
            await self._hub.put.remote(
                [
                    StreamError(
                        stream_id=trigger.stream_id,
                        media_time=trigger.media_time,
                        stage="reaction",
                        message=f"answer to {trigger.request.text!r} failed: {error}",
                        request_id=trigger.request.request_id,
                    )
                ]
            )

    async def _recent_frames(self, trigger: Trigger) -> list[tuple[float, Any]]:
        """The newest frames for an answer the model writes, when answers show them; none
        from a perception stage that is restarting (the answer goes on from the timeline)."""
        if not self._frames or self._perception is None or trigger.output:
            return []
        try:
            return await asyncio.wait_for(self._perception.recent_frames.remote(), FRAMES_WAIT)
        except Exception as error:
            log.warning("answering without frames: %s", error)
            return []

    def _clarifier(self, trigger: Trigger, heard: list[Utterance]) -> ClarifyAgent | None:
        """A clarify loop for ``trigger`` when it may be asked back: a question without
        options, from someone who can reply, that leans on what was said or on documents."""
        live, request = self._clarify, trigger.request
        if (
            live is None
            or request.kind != "question"
            or trigger.output
            or (request.origin == "typed" and not live.typed)
            or parse_choices(request.text) is not None
        ):
            return None
        if not self._searchers and unresolved_reference(request.text) is None:
            return None
        said = [(u.speaker, u.text) for u in heard if u.final and u.text != request.text]

        async def lines() -> list[tuple[str, str]]:
            return said

        assert self._text_embedder is not None
        memory = MemorySearch(lines, self._text_embedder)
        return ClarifyAgent(self._stage.backend, [memory, *self._searchers], live.options)

    def _asker(self, trigger: Trigger) -> Callable[[str], Awaitable[str | None]]:
        """Puts a question to the person who asked ``trigger``; their reply, or None."""
        assert self._clarify is not None
        timeout = self._clarify.ask_timeout

        async def ask(question: str) -> str | None:
            request = trigger.request
            waiting: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._replies[request.request_id] = waiting
            clarification = Clarification(
                stream_id=trigger.stream_id,
                media_time=trigger.media_time,
                request_id=request.request_id,
                question=question,
                speaker=request.speaker,
            )
            try:
                if self._decision is not None:  # first, so that a quick reply finds its way
                    await self._decision.submit.remote([clarification])
                await self._hub.put.remote([clarification])
                await fan_out(self._sinks, _said(trigger, question))
                return await asyncio.wait_for(waiting, timeout)
            except TimeoutError:
                return None
            finally:
                self._replies.pop(request.request_id, None)
                self._heard.pop(request.request_id, None)
                if (timer := self._settling.pop(request.request_id, None)) is not None:
                    timer.cancel()

        return ask

    async def reply(self, reply: Reply) -> bool:
        """The person's reply to a clarifying question (or a piece of a spoken one); whether a
        loop was waiting for it. A spoken reply is taken once the person has not gone on for
        :data:`REPLY_SETTLE` seconds, all its pieces together."""
        request_id = reply.request_id
        waiting = self._replies.get(request_id)
        if waiting is None or waiting.done():
            return False
        if not reply.spoken:
            waiting.set_result(reply.text)
            return True
        heard = self._heard.setdefault(request_id, [])
        if not reply.partial:
            heard.append(reply.text.strip())
        if heard:  # more words begun: wait for them; words ended: wait for a pause
            if (timer := self._settling.pop(request_id, None)) is not None:
                timer.cancel()
            delay = REPLY_MORE if reply.partial else REPLY_SETTLE
            loop = asyncio.get_running_loop()
            self._settling[request_id] = loop.call_later(delay, self._take_reply, request_id)
        return True

    def _take_reply(self, request_id: str) -> None:
        self._settling.pop(request_id, None)
        waiting = self._replies.get(request_id)
        if waiting is not None and not waiting.done():
            waiting.set_result(" ".join(self._heard.pop(request_id, [])))

    async def _finish(self, response: Response) -> None:
        if response.cancelled:
            self.cancelled += 1
        else:
            self.answered += 1
        await self._memory.add_many.remote([response])
        if self._decision is not None:
            await self._decision.submit.remote([response])


def _said(trigger: Trigger, text: str) -> Response:
    """A clarifying question as the sinks take an answer (spoken, logged, sent)."""
    now = time.time()
    return Response(
        stream_id=trigger.stream_id,
        media_time=trigger.media_time,
        response_id=new_id(),
        request_id=trigger.request.request_id,
        question=trigger.request.text,
        text=text,
        asked_at=trigger.asked_at,
        asked_wall=now,
        first_token_wall=now,
        done_wall=now,
    )
