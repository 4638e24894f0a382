"""Answers in the order they were asked, as many at once as the backend can generate.

Seven questions asked in the same second must all be answered, first asked first answered,
and none may time out for having waited: so triggers wait here, in one FIFO queue, and
``workers`` tasks (the backend's concurrency: 1 for llama.cpp in process, more for vLLM or a
server) take them in turn. The backend's deadline then starts when a generation starts, and
the wait is measured on its own (the ``queued`` and ``started`` stamps).

Barge-in drops what a stream still has waiting (:meth:`AnswerQueue.drop`); what it is
answering is cancelled by the reaction stage, so that each such answer still ends with its
cancelled Response.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from vigil.items import Trigger

__all__ = ["AnswerQueue"]

log = logging.getLogger(__name__)


class AnswerQueue:
    """Runs ``answer(trigger)`` for each trigger put, in order, ``workers`` at a time."""

    def __init__(self, answer: Callable[[Trigger], Awaitable[None]], *, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers >= 1")
        self._answer = answer
        self._waiting: deque[Trigger] = deque()
        self._running: dict[asyncio.Task[None], Trigger] = {}
        self._ready = asyncio.Condition()
        self._idle = asyncio.Event()
        self._idle.set()
        self._workers = [asyncio.create_task(self._work()) for _ in range(workers)]

    @property
    def waiting(self) -> int:
        """Triggers not yet started."""
        return len(self._waiting)

    @property
    def busy(self) -> bool:
        return bool(self._waiting or self._running)

    def running(self, stream_id: str | None = None) -> list[Trigger]:
        return [t for t in self._running.values() if stream_id in (None, t.stream_id)]

    async def put(self, trigger: Trigger) -> int:
        """Queue ``trigger`` (stamped ``queued``); returns how many are ahead of it."""
        ahead = len(self._waiting) + len(self._running)
        self._waiting.append(trigger.stamped("queued"))
        self._idle.clear()
        async with self._ready:
            self._ready.notify()
        return ahead

    def drop(self, stream_id: str) -> list[Trigger]:
        """Remove the stream's waiting triggers (they will not be answered)."""
        dropped = [t for t in self._waiting if t.stream_id == stream_id]
        for trigger in dropped:
            self._waiting.remove(trigger)
        self._settle()
        return dropped

    async def idle(self) -> None:
        """Wait until nothing waits or runs."""
        await self._idle.wait()

    async def close(self) -> None:
        for task in [*self._workers, *self._running]:
            task.cancel()
        for task in [*self._workers, *self._running]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while True:
            async with self._ready:
                await self._ready.wait_for(lambda: bool(self._waiting))
                trigger = self._waiting.popleft()
            started = trigger.stamped("started")
            task = asyncio.create_task(self._answer(started))
            self._running[task] = started
            try:
                await asyncio.wait({task})  # a cancelled answer must not stop the worker
                if not task.cancelled() and (error := task.exception()) is not None:
                    log.error("answer to %r failed: %s", started.request.text, error)
            finally:
                self._running.pop(task, None)
                self._settle()

    def _settle(self) -> None:
        if not self.busy:
            self._idle.set()
