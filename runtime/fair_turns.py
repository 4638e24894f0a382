"""Turns on a shared model, handed out in rotation among the streams that wait for one.

First come, first served lets a stream that asks ten questions at once hold the model for ten
answers while a quiet stream's one question waits behind all of them. Here each stream waits
in a line of its own, and a freed turn goes to the stream at the front of the rotation, which
then moves to the back: a stream waits for at most one turn of every other stream waiting,
however many each has asked. A stream's own requests keep the order they came in.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["FairTurns"]


class FairTurns:
    """``slots`` turns at once (the backend's concurrency), shared fairly by streams."""

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError("a model needs at least one slot")
        self._free = slots
        # Streams with requests waiting, in rotation order (a dict keeps insertion order).
        self._lines: dict[str, deque[asyncio.Future[None]]] = {}

    async def acquire(self, stream_id: str) -> None:
        """Wait for this stream's turn; cancelled while waiting, it leaves its line."""
        if self._free and not self._lines:
            self._free -= 1
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
        """A turn ended: hand it to the stream at the front of the rotation."""
        self._free += 1
        while self._free and self._lines:
            stream_id, line = next(iter(self._lines.items()))
            del self._lines[stream_id]
            turn = line.popleft()
            if line:
                self._lines[stream_id] = line  # to the back of the rotation
            if not turn.done():
                self._free -= 1
                turn.set_result(None)

    def waiting(self) -> dict[str, int]:
        """Requests waiting for a turn, per stream (for metrics)."""
        return {stream_id: len(line) for stream_id, line in self._lines.items()}

    def _leave(self, stream_id: str, turn: asyncio.Future[None]) -> None:
        line = self._lines.get(stream_id)
        if line is None or turn not in line:  # already passed over by ``release``
            return
        line.remove(turn)
        if not line:
            del self._lines[stream_id]
