"""WebRTC into a live stream (aiortc): the second transport, for clients that already speak it.

The client offers a peer connection with a video and/or an audio track; the answer comes back
from ``POST /v1/streams/{id}/webrtc``. Received video is passed on at ``fps`` (perception
samples far below the camera's rate, and every frame pushed is a copy across processes);
received audio is resampled to 16 kHz mono and passed on as it comes. Media time is each
frame's own timestamp since the first, so network jitter does not move what was seen. When the
connection fails or closes, the stream ends as if its WebSocket client had left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from vigil.items import AudioChunk, VideoFrame

__all__ = ["WebRtcIngest"]

log = logging.getLogger("vigil.service")

Push = Callable[[list[VideoFrame | AudioChunk]], Awaitable[int]]


class WebRtcIngest:
    """One peer connection feeding one live stream through ``push``."""

    def __init__(
        self, stream_id: str, push: Push, on_close: Callable[[], None], *, fps: float = 2.0
    ) -> None:
        self.stream_id = stream_id
        self._push = push
        self._on_close = on_close
        self._fps = fps
        self._peer = RTCPeerConnection()
        self._tasks: list[asyncio.Task[None]] = []
        self._origin: float | None = None
        self._closed = False
        self._peer.on("track", self._track)
        self._peer.on("connectionstatechange", self._state)

    async def answer(self, sdp: str, kind: str) -> RTCSessionDescription:
        await self._peer.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        await self._peer.setLocalDescription(await self._peer.createAnswer())
        return self._peer.localDescription

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self._peer.close()
        if not self._closed:  # closed here before its state said so
            self._closed = True
            self._on_close()

    def _track(self, track: MediaStreamTrack) -> None:
        receive = self._video if track.kind == "video" else self._audio
        self._tasks.append(asyncio.create_task(receive(track), name=f"webrtc-{track.kind}"))

    async def _state(self) -> None:
        if self._peer.connectionState in ("failed", "closed") and not self._closed:
            self._closed = True
            self._on_close()

    def _media_time(self, frame: av.VideoFrame | av.AudioFrame) -> float:
        t = float(frame.time) if frame.time is not None else time.monotonic()
        if self._origin is None:
            self._origin = t
        return max(0.0, t - self._origin)

    async def _video(self, track: MediaStreamTrack) -> None:
        due = 0.0
        index = 0
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                t = self._media_time(frame)
                if t + 1e-6 < due:
                    continue
                due = t + 1.0 / self._fps
                image = frame.to_ndarray(format="bgr24")
                item = VideoFrame(
                    stream_id=self.stream_id,
                    media_time=t,
                    stamps={"source": time.time()},
                    image=image,
                    index=index,
                )
                index += 1
                await self._push([item])

    async def _audio(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                t = self._media_time(frame)
                for piece in resampler.resample(frame):
                    samples = piece.to_ndarray().reshape(-1, 1).astype(np.float32) / 32768.0
                    item = AudioChunk(
                        stream_id=self.stream_id,
                        media_time=t,
                        stamps={"source": time.time()},
                        samples=samples,
                        sample_rate=16_000,
                    )
                    await self._push([item])
