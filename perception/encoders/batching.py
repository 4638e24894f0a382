"""Batching frames from several streams into one forward pass of a vision encoder.

On a GPU, one batch of eight frames costs little more than one frame, so a shared encoder
serves many streams if it waits a moment for company: a batch goes when it holds ``max_batch``
frames, or ``max_wait`` seconds after its first frame arrived, whichever comes first. A lone
stream therefore pays at most ``max_wait`` of extra latency. Frames may be tagged with the
stream they come from, so the statistics show whether batches really mix streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from perception.encoders.base import FrameFeatures

__all__ = ["BatchEncoder", "BatchStats", "FrameBatcher"]


class BatchEncoder(Protocol):
    """An encoder that can analyse several frames at once (``TorchFrameEncoder`` can)."""

    def encode_batch(self, images: list[np.ndarray]) -> list[FrameFeatures]: ...


@dataclass(slots=True)
class BatchStats:
    batches: int = 0
    frames: int = 0
    mixed: int = 0  # batches holding frames of more than one (tagged) stream
    by_stream: Counter[str] = field(default_factory=Counter)  # frames encoded per tagged stream

    @property
    def mean_batch(self) -> float:
        return self.frames / self.batches if self.batches else 0.0


class FrameBatcher:
    """``await encode(image)`` from any number of streams; frames are encoded in batches."""

    def __init__(self, encoder: BatchEncoder, *, max_batch: int = 8, max_wait: float = 0.02):
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch >= 1 and max_wait >= 0 are required")
        self.encoder = encoder
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def encode(self, image: np.ndarray, stream: str | None = None) -> FrameFeatures:
        """The frame's features; ``stream`` (optional) says whose frame it is, for the stats."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="vigil-frame-batcher")
        result: asyncio.Future[FrameFeatures] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(image, stream, result))
        return await result

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                try:
                    async with asyncio.timeout_at(deadline):
                        batch.append(await self._queue.get())
                except TimeoutError:
                    break
            images = [pending.image for pending in batch]
            try:
                features = await asyncio.to_thread(self.encoder.encode_batch, images)
            except Exception as error:  # every waiting stream learns of it, and the next batch runs
                for pending in batch:
                    if not pending.result.done():
                        pending.result.set_exception(error)
                continue
            self._count(batch)
            for pending, feature in zip(batch, features, strict=True):
                if not pending.result.done():
                    pending.result.set_result(feature)

    def _count(self, batch: list[_Pending]) -> None:
        streams = [pending.stream for pending in batch if pending.stream is not None]
        self.stats.batches += 1
        self.stats.frames += len(batch)
        self.stats.by_stream.update(streams)
        if len(set(streams)) > 1:
            self.stats.mixed += 1


@dataclass(frozen=True, slots=True)
class _Pending:
    """A frame waiting for its batch, and where its features go."""

    image: np.ndarray
    stream: str | None
    result: asyncio.Future[FrameFeatures]
