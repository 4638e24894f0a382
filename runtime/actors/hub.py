"""The event hub: where every stage posts what a user should see, and the driver reads it.

It holds a bounded window: when the reader falls behind, the oldest data events (frames'
observations, streamed tokens) go first and are counted; control items and final answers are
kept until read, so no answer is ever lost to the console or to an evaluation.
"""

from __future__ import annotations

import asyncio
from collections import deque

from vigil.items import Clarification, Clip, ControlItem, Item, Reply, Request, Response, Utterance

__all__ = ["EventHub"]

_KEEP = (ControlItem, Clip, Response, Request, Utterance, Clarification, Reply)


class EventHub:
    """A bounded, drop-oldest-data mailbox with one reader."""

    def __init__(self, capacity: int) -> None:
        self._events: deque[Item] = deque()
        self._capacity = capacity
        self._ready = asyncio.Event()
        self.dropped = 0

    async def put(self, items: list[Item]) -> None:
        for item in items:
            self._events.append(item.stamped("hub"))
        while len(self._events) > self._capacity:
            victim = next((e for e in self._events if not isinstance(e, _KEEP)), None)
            if victim is None:
                break
            self._events.remove(victim)
            self.dropped += 1
        self._ready.set()

    async def take(self, max_items: int = 256, timeout: float = 0.2) -> list[Item]:
        """Up to ``max_items`` events, waiting at most ``timeout`` seconds for the first."""
        if not self._events:
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return []
        count = min(max_items, len(self._events))
        return [self._events.popleft() for _ in range(count)]
