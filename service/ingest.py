"""What a client sends over ``WS /v1/streams/{id}/ingest``, turned into media items.

Each binary message is one captured piece: a type byte (``V``: a JPEG frame, ``A``: a block
of 16 kHz 16-bit little-endian mono PCM), the capture time as a little-endian float64 in
milliseconds on the client's clock, then the payload. Media time is capture time since the
stream's first message, so the agent's timeline follows the client's clock, not the network's:
a frame that arrives late still lands where it was seen.
"""

from __future__ import annotations

import struct
import time

import cv2
import numpy as np

from vigil.items import AudioChunk, VideoFrame

__all__ = ["HEADER", "SAMPLE_RATE", "Ingest", "IngestError"]

HEADER = struct.Struct("<cd")
"""Type byte and capture time (ms)."""
SAMPLE_RATE = 16_000


class IngestError(ValueError):
    """A message that cannot be read; the stream goes on without it."""


class Ingest:
    """One stream's decoder of client messages."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self._origin: float | None = None
        self._frames = 0

    def decode(self, message: bytes) -> VideoFrame | AudioChunk:
        if len(message) <= HEADER.size:
            raise IngestError(
                f"message of {len(message)} bytes: expected a type byte, a float64 capture "
                "time and a payload"
            )
        kind, captured_ms = HEADER.unpack_from(message)
        payload = memoryview(message)[HEADER.size :]
        if not np.isfinite(captured_ms):
            raise IngestError("capture time is not a finite number")
        stamps = {"source": time.time()}
        if kind == b"V":
            image = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise IngestError("frame is not a decodable JPEG")
            self._frames += 1
            return VideoFrame(
                stream_id=self.stream_id,
                media_time=self._media_time(captured_ms),
                stamps=stamps,
                image=image,
                index=self._frames - 1,
            )
        if kind == b"A":
            if len(payload) % 2:
                raise IngestError("PCM block has an odd number of bytes: expected 16-bit samples")
            samples = np.frombuffer(payload, "<i2").astype(np.float32) / 32768.0
            return AudioChunk(
                stream_id=self.stream_id,
                media_time=self._media_time(captured_ms),
                stamps=stamps,
                samples=samples.reshape(-1, 1),
                sample_rate=SAMPLE_RATE,
            )
        raise IngestError(f"unknown message type {kind!r}: use b'V' (JPEG) or b'A' (PCM)")

    def _media_time(self, captured_ms: float) -> float:
        """Seconds since the first message that was read (unreadable ones set no origin)."""
        if self._origin is None:
            self._origin = captured_ms
        return max(0.0, (captured_ms - self._origin) / 1000.0)
