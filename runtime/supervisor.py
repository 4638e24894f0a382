"""Keeps one stream's graph whole while it plays, when a stage's process dies.

Ray restarts a stage actor whose process died (up to ``runtime.max_restarts`` times) by
running its constructor again in a new process. Calls reach the new instance as if nothing had
happened, but what the old one had built is gone: models loaded, standing instructions,
answers in progress. The supervisor runs in the driver beside the loop that reads the hub,
sees every event that loop sees, and sets each restarted stage back up:

- **perception**: its ``run`` call fails; it loads its models again and plays on from the
  live edge (a paced file from the second the wall clock has reached, an unpaced one from the
  last second seen, a camera or a client's stream from whatever comes next);
- **reaction**: it loads its model again and is reconnected; each trigger seen without an
  answer or a failure is submitted again, once (a second loss is reported as a failure);
- **decision**: standing instructions, and typed questions not yet due, are given again
  (what it was waiting for, a reply or a turn, is forgotten);
- **memory**: long-term memory reopens what it wrote to disk; memory kept only in the process
  (``memory.persistent`` off) starts empty, and the user is told.

Every restart is reported as a non-fatal :class:`StreamError` of stage ``runtime``. A stage
that died more often than ``runtime.max_restarts`` stays dead, and the stream ends with the
error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from ray.exceptions import ActorUnavailableError, RayActorError

from runtime.config import VigilConfig
from runtime.graph import StreamGraph
from vigil.items import Item, Observation, Request, Response, StreamError, Trigger, Utterance

__all__ = ["Supervisor"]

log = logging.getLogger(__name__)

Deliver = Callable[[list[Item]], None]

_MEMORY_LOST = {
    True: "memory restarted: what came before is kept on disk (recall finds it), but is no "
    "longer in the answers' timeline",
    False: "memory restarted empty (memory.persistent keeps it on disk, across restarts)",
}


async def _call(method: Any, *args: Any, wait: float = 300.0) -> Any:
    """Call a stage that may be restarting: Ray answers "unavailable" until its constructor
    has run again, so the call is repeated until then (a stage that stays dead raises)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return await method.remote(*args)
        except ActorUnavailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


class Supervisor:
    """Watches the stage actors of ``graph``; ``requests`` are those the driver typed."""

    def __init__(self, config: VigilConfig, graph: StreamGraph, requests: list[Request]):
        self._config = config
        self._graph = graph
        # What the decision stage must be told again if it restarts: standing instructions,
        # and typed questions it holds until their media time (until their trigger is seen).
        self._told_again = {r.request_id: r for r in requests}
        self._pending: dict[str, Trigger] = {}  # request id -> trigger with no outcome yet
        self._retried: set[str] = set()
        self._processes: dict[str, str] = {}
        self._memory_version = 0
        self._media_time = 0.0
        self._played_since = time.monotonic()
        self.restarts: dict[str, int] = {}

    async def start(self) -> None:
        """Note which process serves each stage, before the stream plays."""
        for name, actor in self._stages():
            self._processes[name] = await _call(actor.process)
        self._played_since = time.monotonic()

    def observe(self, item: Item) -> None:
        """Follow what the graph produced: triggers and their outcomes, instructions, time."""
        match item:
            case Trigger():
                self._pending[item.request.request_id] = item
                if item.request.kind == "question":
                    self._told_again.pop(item.request.request_id, None)
            case Response():
                self._pending.pop(item.request_id, None)
            case StreamError(request_id=str(failed)) if failed:
                self._pending.pop(failed, None)
            case Request(kind="instruction"):
                self._told_again.setdefault(item.request_id, item)
            case Observation() | Utterance():
                self._media_time = max(self._media_time, item.media_time)

    async def watch(self, deliver: Deliver, stop: asyncio.Event) -> None:
        """Check the stages every ``runtime.supervise_interval_s`` until ``stop`` is set (a
        check under way finishes first: a stage left half set up would never answer)."""
        interval = self._config.runtime.supervise_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
                return
            try:
                deliver(await self.check())
            except RayActorError as error:  # a stage that stays dead: the stream will end
                log.warning("stream %s: a stage is gone: %s", self._graph.stream_id, error)

    async def check(self) -> list[Item]:
        """Set up again each stage that Ray restarted since the last check; what to tell."""
        told: list[Item] = []
        for name, actor in self._stages():
            process = await _call(actor.process)
            if process != self._processes[name]:
                told.extend(await self._set_up(name))
                self._processes[name] = process
        version = await _call(self._graph.memory.version, self._graph.stream_id)
        if version < self._memory_version:  # a new memory actor counts from zero
            told.append(self._told("memory", _MEMORY_LOST[self._config.memory.persistent]))
        self._memory_version = version
        return told

    async def resume(self, error: RayActorError, deliver: Deliver) -> Any:
        """Perception died mid-stream: set it up again and play on from the live edge; returns
        its new ``run`` call. Raises ``error`` when Ray will not restart it any more."""
        graph = self._graph
        try:
            await _call(graph.perception.ready)
        except RayActorError:
            raise error from None
        if self._config.memory.persistent:
            voices = await _call(graph.memory.voices)
            await graph.perception.restore_speakers.remote(voices)
        start_at = time.monotonic() - self._played_since if graph.paced else self._media_time
        deliver([self._told("perception", f"perception restarted; on from {start_at:.1f} s")])
        return graph.perception.run.remote(start_at=start_at)

    def _stages(self) -> list[tuple[str, Any]]:
        """The stages whose restarts are found by asking (perception's by its run failing)."""
        return [("decision", self._graph.decision), ("reaction", self._graph.reaction)]

    async def _set_up(self, name: str) -> list[Item]:
        graph = self._graph
        if name == "decision":
            await _call(graph.decision.submit, list(self._told_again.values()))
            return [
                self._told(
                    name,
                    f"the decision stage restarted; {len(self._told_again)} instruction(s) and "
                    "question(s) not yet due given again",
                )
            ]
        again = [t for t in self._pending.values() if t.request.request_id not in self._retried]
        lost = [t for t in self._pending.values() if t.request.request_id in self._retried]
        self._retried.update(t.request.request_id for t in again)
        try:
            await _call(graph.reaction.connect, graph.decision, graph.perception)
            await graph.reaction.ready.remote()
            if self._config.reaction.prefill_interval > 0:
                await graph.reaction.watch.remote(
                    graph.stream_id, self._config.reaction.prefill_interval
                )
            set_up = await graph.reaction.resubmit.remote(again)
        except RayActorError:
            set_up = False
        # Died again while being set up: what was asked again went with it, and the next check
        # sets up the instance Ray started after it (and reports those answers failed).
        told: list[Item] = [
            self._told(
                name,
                f"the reaction stage restarted; {len(again)} answer(s) in progress asked again"
                if set_up
                else "the reaction stage restarted and died again while being set up",
            )
        ]
        for trigger in lost:  # asked again once already: the person is told, not kept waiting
            request = trigger.request
            del self._pending[request.request_id]
            told.append(
                StreamError(
                    stream_id=graph.stream_id,
                    media_time=trigger.media_time,
                    stage="reaction",
                    message=f"answer to {request.text!r} failed: the reaction stage died twice "
                    "while answering it",
                    request_id=request.request_id,
                )
            )
        return told

    def _told(self, stage: str, message: str) -> StreamError:
        self.restarts[stage] = self.restarts.get(stage, 0) + 1
        log.warning("stream %s: %s", self._graph.stream_id, message)
        return StreamError(
            stream_id=self._graph.stream_id,
            media_time=self._media_time,
            stage="runtime",
            message=message,
        )
