"""A camera read with OpenCV.

``cv2.VideoCapture.read`` blocks until the device has a frame, so reading runs in the source's
worker thread. Cameras give no usable timestamps, so ``media_time`` is the monotonic clock since
``open()``. A camera that is unplugged makes ``read`` fail over and over: after
``max_failed_reads`` consecutive failures the stream reports a fatal error and ends with reason
``"device lost"``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from runtime.sources.base import Source
from vigil.errors import DeviceNotFound
from vigil.items import VideoFrame

__all__ = ["Capture", "WebcamSource"]

_HINT = (
    "list cameras with `ls /dev/video*` (or `v4l2-ctl --list-devices`), check that your user "
    "may read them (group `video`) and that no other program holds the camera"
)


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` that the source uses (fakes implement just this)."""

    def isOpened(self) -> bool: ...

    def read(self) -> tuple[bool, np.ndarray | None]: ...

    def get(self, prop: int) -> float: ...

    def set(self, prop: int, value: float) -> bool: ...

    def release(self) -> None: ...


class WebcamSource(Source):
    """Frames from camera ``device`` (an index such as 0, or a path such as /dev/video2).

    ``fps`` asks the camera for that rate and also caps the rate of emitted frames, which
    matters when a camera ignores the request.
    """

    def __init__(
        self,
        device: int | str,
        *,
        stream_id: str,
        fps: float | None = None,
        capture_factory: Callable[[int | str], Capture] = cv2.VideoCapture,
        capacity: int = 8,
        max_failed_reads: int = 10,
        retry_interval: float = 0.05,
    ) -> None:
        super().__init__(stream_id=stream_id, capacity=capacity)
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive")
        self.device = device
        self.fps = fps
        self._factory = capture_factory
        self._max_failed_reads = max_failed_reads
        self._retry_interval = retry_interval
        self._capture: Capture | None = None
        self._opened_at = 0.0

    async def _open(self) -> None:
        self._capture = await asyncio.to_thread(self._factory, self.device)
        if not self._capture.isOpened():
            raise DeviceNotFound(f"no camera at {self.device!r}", hint=_HINT)
        if self.fps is not None:
            self._capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._opened_at = time.monotonic()

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _run(self) -> str:
        assert self._capture is not None
        capture = self._capture
        period = 1.0 / self.fps if self.fps else 0.0
        due = self._opened_at
        failures = 0
        index = 0
        while not self.stopping:
            ok, image = capture.read()
            now = time.monotonic()
            if not ok or image is None:
                failures += 1
                if failures >= self._max_failed_reads:
                    message = f"camera {self.device!r} stopped delivering frames"
                    self._emit_error(
                        f"{message} ({failures} reads failed)", now - self._opened_at, fatal=True
                    )
                    return "device lost"
                if not self._wait_until(now + self._retry_interval):
                    return "stopped"
                continue
            failures = 0
            if period:
                if now < due:
                    continue  # faster than asked: skip, but keep reading so frames stay fresh
                due = max(due + period, now - period)  # a late frame does not cause a burst
            frame = VideoFrame(
                stream_id=self.stream_id,
                media_time=now - self._opened_at,
                stamps={"source": time.time()},
                image=_bgr(image),
                index=index,
            )
            index += 1
            if not self._emit(frame):
                return "stopped"
        return "stopped"


def _bgr(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 BGR, whatever the camera delivered (grey, BGRA or 16-bit)."""
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(float(image.max()), 1.0))
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image
