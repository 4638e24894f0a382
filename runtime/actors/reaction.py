"""The reaction actor: answers triggers in the background and streams the answers out.

``submit`` returns as soon as the work is queued, so the decision stage (and perception behind
it) never waits for generation. Deltas go to the event hub as they come; the final response
also goes to memory, and back to the decision stage as the answer marker it needs for
turn-taking. ``interrupt`` cancels what is being generated for a stream (barge-in).

Between answers, ``watch`` keeps the backend's prompt cache warm with the stream's timeline
(see :meth:`ReactionStage.prefill`), so that a question pays only for its own few tokens.
One backend holds one cached prompt: with several streams on one actor, the last one
prefilled is the warm one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from reaction.engine import ReactionStage
from reaction.sinks import Sink, fan_out
from vigil.items import Interrupt, Response, StreamError, Trigger

__all__ = ["ReactionActor"]

log = logging.getLogger(__name__)


class ReactionActor:
    """Wrapped with ``ray.remote`` by the graph; ``memory``, ``hub`` are actor handles."""

    def __init__(
        self,
        stage: Callable[[], ReactionStage],
        *,
        memory: Any,
        hub: Any,
        recall: bool = False,
        sinks: Callable[[], list[Sink]] = list,
    ) -> None:
        # Built in ``ready``, so that a model or port that fails raises from a method call,
        # whose error reaches the driver intact (a constructor's does not).
        self._factories = (stage, sinks)
        self._stage: ReactionStage
        self._sinks: list[Sink] = []
        self._memory = memory
        self._recall = recall  # whether memory is long-term and can recall earlier sessions
        self._hub = hub
        self._decision: Any = None
        self._tasks: dict[str, set[asyncio.Task[None]]] = defaultdict(set)
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self.answered = 0
        self.cancelled = 0
        self.prefills = 0

    async def ready(self) -> bool:
        """Load the model (and warm its prompt prefix) before the stream starts."""
        stage, sinks = self._factories
        self._stage, self._sinks = stage(), sinks()
        await self._stage.start()
        await asyncio.gather(*(sink.start() for sink in self._sinks))
        return True

    async def connect(self, decision: Any) -> None:
        """The decision actor, for answer markers (it is created after this actor)."""
        self._decision = decision

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
            if any(self._tasks.values()):
                continue
            version = await self._memory.version.remote(stream_id)
            if version == warmed:
                continue
            snapshot = await self._memory.snapshot.remote(stream_id)
            try:
                done = await self._stage.prefill(
                    observations=snapshot.observations,
                    utterances=snapshot.utterances,
                    answers=snapshot.answers,
                )
            except Exception:  # a failed prefill costs speed, never the stream
                log.exception("prefill for stream %s failed", stream_id)
                continue
            self.prefills += 1
            if done:
                warmed = version

    async def submit(self, trigger: Trigger) -> None:
        task = asyncio.create_task(self._answer(trigger.stamped("queued")))
        tasks = self._tasks[trigger.stream_id]
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def interrupt(self, interrupt: Interrupt) -> int:
        """Cancel every answer in progress on the stream; returns how many were cancelled."""
        tasks = list(self._tasks.get(interrupt.stream_id, ()))
        await self._stage.cancel_all()
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def idle(self) -> None:
        """Wait until no answer is in progress on any stream."""
        while any(self._tasks.values()):
            await asyncio.gather(
                *(t for ts in self._tasks.values() for t in ts), return_exceptions=True
            )

    async def _answer(self, trigger: Trigger) -> None:
        snapshot = await self._memory.snapshot.remote(trigger.stream_id)
        try:
            recalled = (
                await self._memory.recall.remote(trigger.request.text) if self._recall else []
            )
            async for item in self._stage.respond(
                trigger,
                observations=snapshot.observations,
                utterances=snapshot.utterances,
                answers=snapshot.answers,
                recalled=recalled,
            ):
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
                    )
                ]
            )

    async def _finish(self, response: Response) -> None:
        if response.cancelled:
            self.cancelled += 1
        else:
            self.answered += 1
        await self._memory.add_many.remote([response])
        if self._decision is not None:
            await self._decision.submit.remote([response])
