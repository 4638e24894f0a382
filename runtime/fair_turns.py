"""Turns on a shared model, handed out in rotation among the streams that wait for one.

First come, first served lets a stream that asks ten questions at once hold the model for ten
answers while a quiet stream's one question waits behind all of them. Here each stream waits
in a line of its own, and a freed turn goes to the waiting stream that had one least recently
(a stream that never had one first): a stream waits for at most one turn of every other
stream waiting, however many each has asked. A stream's own requests keep the order they
came in.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["FairTurns"]

REMEMBERED = 4096
"""Streams whose last turn is remembered (a long-lived service sees streams come and go)."""


class FairTurns:
    """``slots`` turns at once (the backend's concurrency), shared fairly by streams."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a model needs at least one slot")
        self._free = slots
        self._lines: dict[str, deque[asyncio.Future[None]]] = {}  # streams with requests waiting
        # Streams by when they last had a turn, least recent first (a dict keeps its order).
        self._served: dict[str, None] = {}

    async def acquire(self, stream_id: str) -> None:
        """Wait for this stream's turn; cancelled while waiting, it leaves its line."""
        if self._free and not self._lines:
            self._free -= 1
            self._serve(stream_id)
            return
        turn = asyncio.get_running_loop().create_future()
        self._lines.setdefault(stream_id, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the turn as it was cancelled
                self.release()
            else:
                self._leave(stream_id, turn)
            raise

    def release(self) -> None:
        """A turn ended: hand it to the waiting stream that had one least recently."""
        self._free += 1
        while self._free and self._lines:
            order = {stream_id: rank for rank, stream_id in enumerate(self._served)}
            stream_id = min(self._lines, key=lambda waiting: order.get(waiting, -1))
            line = self._lines[stream_id]
            turn = line.popleft()
            if not line:
                del self._lines[stream_id]
            if not turn.done():  # a request cancelled meanwhile is passed over
                self._free -= 1
                self._serve(stream_id)
                turn.set_result(None)

    def waiting(self) -> dict[str, int]:
        """Requests waiting for a turn, per stream (for metrics)."""
        return {stream_id: len(line) for stream_id, line in self._lines.items()}

    def _serve(self, stream_id: str) -> None:
        self._served.pop(stream_id, None)
        self._served[stream_id] = None
        if len(self._served) > REMEMBERED:  # the longest unserved count as never served
            del self._served[next(iter(self._served))]

    def _leave(self, stream_id: str, turn: asyncio.Future[None]) -> None:
        line = self._lines.get(stream_id)
        if line is None or turn not in line:  # already passed over by ``release``
            return
        line.remove(turn)
        if not line:
            del self._lines[stream_id]
