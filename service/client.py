"""A Python client for live ingest: a clip (or any frames and audio) sent as a browser would.

Frames go as JPEG at ``fps``, audio as 16 kHz 16-bit mono PCM blocks, each stamped with its
capture time (see :mod:`service.ingest`); ``paced`` sends them in real time, as a camera and a
microphone deliver them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import websockets

from runtime.sources.file import FileSource
from service.ingest import HEADER, SAMPLE_RATE
from vigil.items import AudioChunk, VideoFrame

__all__ = ["clip_media", "message", "send_media"]

ORIGIN_MS = 1.7e12
"""Capture times are sent as if on a client's wall clock (ms since 1970)."""
PING_TIMEOUT = 60.0
"""Seconds without a pong before the client gives the socket up, as the service's default
``service.ping_timeout_s``: a busy server may answer a ping late, and a camera must not be cut."""


def message(item: VideoFrame | AudioChunk) -> bytes:
    """One ingest message for ``item`` (audio must be mono 16 kHz)."""
    stamp = ORIGIN_MS + item.media_time * 1000.0
    if isinstance(item, VideoFrame):
        return HEADER.pack(b"V", stamp) + cv2.imencode(".jpg", item.image)[1].tobytes()
    if item.sample_rate != SAMPLE_RATE:
        raise ValueError(f"ingest audio is {SAMPLE_RATE} Hz, not {item.sample_rate}")
    mono = item.samples if item.samples.ndim == 1 else item.samples.mean(axis=1)
    pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2")
    return HEADER.pack(b"A", stamp) + pcm.tobytes()


async def clip_media(path: str) -> list[VideoFrame | AudioChunk]:
    """Every frame and audio chunk of a file, decoded as Vigil decodes it."""
    items: list[VideoFrame | AudioChunk] = []
    async with FileSource(path, stream_id="client", paced=False) as source:
        async for item in source:
            if isinstance(item, VideoFrame | AudioChunk):
                items.append(item)
    return items


async def send_media(
    url: str,
    media: Sequence[VideoFrame | AudioChunk],
    *,
    fps: float = 2.0,
    paced: bool = True,
    before: Sequence[bytes] = (),
    started: asyncio.Event | None = None,
) -> list[dict[str, Any]]:
    """Send ``before`` (raw messages) and then ``media`` to an ingest WebSocket ``url`` (with
    its ``?token=``), end the stream, and return what the server replied to ``before``.

    ``started`` is set once the server is ready for media (its graph can take a minute to
    load when many start at once), so that a caller can time what it does from then."""
    replies: list[dict[str, Any]] = []
    async with websockets.connect(url, max_size=None, ping_timeout=PING_TIMEOUT) as socket:
        ready = json.loads(await asyncio.wait_for(socket.recv(), 300))
        if ready.get("type") != "ready":
            raise RuntimeError(f"the stream is not ready: {ready}")
        if started is not None:
            started.set()
        for raw in before:
            await socket.send(raw)
            replies.append(json.loads(await asyncio.wait_for(socket.recv(), 30)))
        began = time.monotonic()
        due = 0.0
        for item in media:
            if paced:
                await asyncio.sleep(max(0.0, item.media_time - (time.monotonic() - began)))
            if isinstance(item, VideoFrame):
                if item.media_time + 1e-6 < due:
                    continue
                due = item.media_time + 1.0 / fps
            await socket.send(message(item))
        await socket.send(json.dumps({"type": "end"}))
    return replies
