"""The shared vision encoder: one actor holds the model, every stream's perception calls it.

A transformers vision model (``models.encoder``) is loaded once, in one actor that the graph
gives GPUs when the cluster has any, and a :class:`~perception.encoders.batching.FrameBatcher`
there gathers the frames arriving from all streams into one forward pass. Each stream's video
stage sees a :class:`RemoteFrameEncoder`: a frame encoder like any other, whose embedding comes
from that actor while counts, boxes and colours come from the stream's own CPU detectors,
computed while the embedding is in flight.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import ray

from perception.encoders.base import FrameEncoder, FrameFeatures
from perception.encoders.batching import BatchStats, FrameBatcher
from perception.encoders.vision import TorchFrameEncoder, with_embedding

__all__ = ["EncoderInfo", "FrameEncoderActor", "RemoteFrameEncoder"]


@dataclass(frozen=True, slots=True)
class EncoderInfo:
    """What the streams need to know about the loaded model."""

    embedding_dim: int
    device: str  # "cuda" or "cpu": where the forward passes run


class FrameEncoderActor:
    """Wrapped with ``ray.remote`` by the graph; ``embed`` is called by every stream at once
    (an async actor: calls wait for their batch concurrently)."""

    def __init__(self, model: Path, *, max_batch: int, max_wait: float) -> None:
        self._model = model
        self._max_batch = max_batch
        self._max_wait = max_wait
        # Loaded in ``ready``: a model that fails to load then raises from a method call,
        # whose error reaches the driver intact (a constructor's does not).
        self._batcher: FrameBatcher

    async def ready(self) -> EncoderInfo:
        """Load the model (on the GPU Ray gave this actor, if any)."""
        encoder = TorchFrameEncoder(self._model, detectors=None)
        await asyncio.to_thread(encoder.load)
        self._batcher = FrameBatcher(encoder, max_batch=self._max_batch, max_wait=self._max_wait)
        return EncoderInfo(encoder.embedding_dim, encoder.device)

    async def embed(self, image: np.ndarray, stream: str) -> tuple[np.ndarray, float]:
        """The frame's embedding, and its share of its batch's forward pass in seconds."""
        features = await self._batcher.encode(image, stream)
        return features.embedding, features.seconds

    async def stats(self) -> BatchStats:
        """Batches and frames so far, per stream, and how many batches mixed streams."""
        return self._batcher.stats


class RemoteFrameEncoder:
    """A :class:`~perception.encoders.base.FrameEncoder` over the shared encoder actor.

    ``encode`` blocks until the embedding is back, as every frame encoder may: the video stage
    calls it in a worker thread, so the perception actor's event loop keeps running.
    """

    name = "torch-shared"

    def __init__(
        self,
        actor: Any,
        *,
        stream_id: str,
        embedding_dim: int,
        detectors: FrameEncoder | None = None,
    ) -> None:
        self._actor = actor
        self._stream_id = stream_id
        self._detectors = detectors
        self.embedding_dim = embedding_dim

    def encode(self, image: np.ndarray) -> FrameFeatures:
        pending = self._actor.embed.remote(image, self._stream_id)
        detected = self._detectors.encode(image) if self._detectors is not None else None
        embedding, seconds = ray.get(pending)
        return with_embedding(detected, embedding, seconds)
