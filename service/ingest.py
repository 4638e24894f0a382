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


MAX_PIXELS = 4096 * 4096
"""Frames larger than this are refused before decoding (a header can claim any size)."""


def _jpeg(payload: memoryview) -> np.ndarray:
    """A JPEG's pixels, or IngestError: only JPEG is decoded (OpenCV would read any format it
    knows, and trust its header), and only up to ``MAX_PIXELS``."""
    if payload[:3] != b"\xff\xd8\xff":
        raise IngestError("frame is not a JPEG (it must start with FF D8 FF)")
    try:
        buffer = np.frombuffer(payload, np.uint8)
        ok, width, height = _jpeg_size(bytes(payload[:65536]))
        if ok and width * height > MAX_PIXELS:
            raise IngestError(f"frame of {width}x{height} pixels is over {MAX_PIXELS} pixels")
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as error:
        raise IngestError(f"frame is not a decodable JPEG: {error.msg}") from None
    if image is None:
        raise IngestError("frame is not a decodable JPEG")
    return image


def _jpeg_size(head: bytes) -> tuple[bool, int, int]:
    """(found, width, height) from a JPEG's start-of-frame marker."""
    i = 2
    while i + 9 < len(head):
        if head[i] != 0xFF:
            return False, 0, 0
        marker = head[i + 1]
        length = int.from_bytes(head[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(head[i + 5 : i + 7], "big")
            width = int.from_bytes(head[i + 7 : i + 9], "big")
            return True, width, height
        i += 2 + length
    return False, 0, 0


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
            image = _jpeg(payload)
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
