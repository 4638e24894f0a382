"""Bounded hops between stages, each with an explicit overflow policy and counters.

Unbounded hops do not fail on Ray: they spill to disk until the disk is full. So every hop here
has a capacity, and what happens at capacity is a policy, not an accident:

- :class:`DropOldest` for sampled video: the freshest frame matters, stale ones are counted.
- :class:`Backpressure` for audio: never dropped; a full queue makes the producer wait, and the
  time spent waiting is counted so that a live source can report that it fell behind.
- :class:`BoundedSender` for actor calls: at most ``limit`` unacknowledged calls in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ray.exceptions import RayActorError

__all__ = ["Backpressure", "BoundedSender", "DropOldest", "HopStats"]

T = TypeVar("T")


@dataclass(slots=True)
class HopStats:
    """What went through a hop: in, out, dropped, and seconds producers waited."""

    put: int = 0
    got: int = 0
    dropped: int = 0
    lost: int = 0  # sent to an actor that died before it acknowledged them
    waited: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "put": self.put,
            "got": self.got,
            "dropped": self.dropped,
            "lost": self.lost,
            "waited": self.waited,
        }


class DropOldest(Generic[T]):
    """A queue that never blocks its producer: when full, the oldest item goes (and is counted)."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[T] = deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self.stats = HopStats()

    def put(self, item: T) -> None:
        if len(self._items) >= self._capacity:
            self._items.popleft()
            self.stats.dropped += 1
        self._items.append(item)
        self.stats.put += 1
        self._ready.set()

    async def get(self) -> T:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        self.stats.got += 1
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


class Backpressure(Generic[T]):
    """A queue that never drops: a producer finding it full waits, and the wait is counted."""

    def __init__(self, capacity: int) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=capacity)
        self.stats = HopStats()

    async def put(self, item: T) -> None:
        if self._queue.full():
            started = time.monotonic()
            await self._queue.put(item)
            self.stats.waited += time.monotonic() - started
        else:
            self._queue.put_nowait(item)
        self.stats.put += 1

    async def get(self) -> T:
        item = await self._queue.get()
        self.stats.got += 1
        return item

    def __len__(self) -> int:
        return self._queue.qsize()


class BoundedSender:
    """Fire-and-forget calls with at most ``limit`` awaiting acknowledgement.

    ``call`` returns an awaitable (a Ray ObjectRef, or any coroutine in tests). The producer
    only waits when the consumer is ``limit`` calls behind, so a slow consumer slows its
    producer down instead of growing an unbounded backlog.
    """

    def __init__(self, call: Callable[..., Awaitable[Any]], limit: int) -> None:
        self._call = call
        self._limit = limit
        self._in_flight: deque[asyncio.Future[Any]] = deque()
        self.stats = HopStats()

    async def send(self, *args: Any) -> None:
        while len(self._in_flight) >= self._limit:
            started = time.monotonic()
            await self._acknowledged()
            self.stats.waited += time.monotonic() - started
        self._in_flight.append(asyncio.ensure_future(self._call(*args)))
        self.stats.put += 1

    async def drain(self) -> None:
        """Wait until every call sent so far was acknowledged."""
        while self._in_flight:
            await self._acknowledged()

    async def _acknowledged(self) -> None:
        """Wait for the oldest call. One that died with its actor is counted as lost: Ray
        restarts the actor, and the stream goes on with what comes next."""
        try:
            await self._in_flight.popleft()
        except RayActorError:
            self.stats.lost += 1
        else:
            self.stats.got += 1
