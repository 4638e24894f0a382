"""A source fed from outside: frames and audio a client sends to the service.

A browser or an app captures on its own device and pushes what it captured (see
:mod:`service.ingest`); the perception actor hands each item to :meth:`LiveSource.push`. The
source is live: when perception falls behind, the oldest frame is dropped and lost audio is
reported, as for a camera (:class:`~runtime.sources.base.Source`). It ends when the client
says so, or when the service ends the stream (the client went away for too long).
"""

from __future__ import annotations

import threading

from runtime.sources.base import Source
from vigil.items import AudioChunk, VideoFrame

__all__ = ["LiveSource"]


class LiveSource(Source):
    def __init__(self, *, stream_id: str, capacity: int = 64) -> None:
        super().__init__(stream_id=stream_id, capacity=capacity)
        self._finished = threading.Event()
        self._reason = "client ended the stream"

    async def _open(self) -> None:
        """Nothing to open: the client holds the devices."""

    def _run(self) -> str:
        while not self._finished.wait(0.2):
            if self.stopping:
                return "stopped"
        return self._reason

    def push(self, item: VideoFrame | AudioChunk) -> bool:
        """Queue an item the client captured; False once the stream has ended."""
        if self._finished.is_set():
            return False
        return self._emit(item)

    def finish(self, reason: str = "client ended the stream") -> None:
        """End the stream after what was pushed so far."""
        self._reason = reason
        self._finished.set()
