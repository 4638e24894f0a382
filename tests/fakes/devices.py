"""A paced camera and microphone for tests, injected through the sources' factories.

Both keep real time from presentation times (frame ``k`` is ready at ``start + k / fps``, audio
block ``k`` at ``start + k * blocksize / rate``), so they never burst and never drift, exactly
like the devices they stand in for. Both can be "unplugged" after a number of frames or blocks.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace, TracebackType
from typing import Any, Self

import cv2
import numpy as np

__all__ = ["CallbackFlags", "FakeCapture", "FakeInputStream"]


class FakeCapture:
    """A ``cv2.VideoCapture`` stand-in serving ``frames`` at ``fps`` in real time.

    ``frames`` is an array shaped (N, H, W, 3) or any iterable of BGR images; with ``loop`` it
    repeats forever. After ``unplug_after`` frames (or when the frames run out) every ``read``
    fails, as a camera's does once it is pulled out. ``opened=False`` plays a missing device.
    """

    def __init__(
        self,
        frames: np.ndarray | Iterable[np.ndarray],
        *,
        fps: float = 30.0,
        unplug_after: int | None = None,
        loop: bool = False,
        opened: bool = True,
    ) -> None:
        self._frames: Iterator[np.ndarray] = itertools.cycle(list(frames)) if loop else iter(frames)
        self.fps = fps
        self.unplug_after = unplug_after
        self.opened = opened
        self.released = False
        self.served = 0
        self.requested: dict[int, float] = {}
        self._start: float | None = None
        self._shape: tuple[int, ...] | None = None

    def isOpened(self) -> bool:
        return self.opened and not self.released

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self.isOpened():
            return False, None
        if self.unplug_after is not None and self.served >= self.unplug_after:
            return False, None
        if self._start is None:
            self._start = time.monotonic()
        delay = self._start + self.served / self.fps - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        image = next(self._frames, None)
        if image is None:
            return False, None
        self.served += 1
        self._shape = image.shape
        return True, image.copy()

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return float(self.fps)
        if self._shape is not None and prop == cv2.CAP_PROP_FRAME_WIDTH:
            return float(self._shape[1])
        if self._shape is not None and prop == cv2.CAP_PROP_FRAME_HEIGHT:
            return float(self._shape[0])
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        """Record what was asked; like many real cameras, change nothing."""
        self.requested[prop] = value
        return False

    def release(self) -> None:
        self.released = True


@dataclass(frozen=True, slots=True)
class CallbackFlags:
    """The status flags a sounddevice callback receives (only those the sources read)."""

    input_overflow: bool = False

    def __bool__(self) -> bool:
        return self.input_overflow


class FakeInputStream:
    """A ``sounddevice.InputStream`` stand-in calling ``callback`` from a thread in real time.

    Serves ``signal`` ((samples,) or (samples, channels) float32) in blocks of ``blocksize``,
    then silence. Blocks whose index is in ``overflow_at`` carry an input-overflow flag. After
    ``unplug_after`` blocks the callbacks stop; ``finished_callback`` is called unless
    ``silent_unplug``, in which case the stream just goes quiet.
    """

    def __init__(
        self,
        signal: np.ndarray,
        *,
        samplerate: float,
        blocksize: int,
        callback: Callable[[np.ndarray, int, Any, CallbackFlags], None],
        channels: int = 1,
        device: int | str | None = None,
        dtype: str = "float32",
        finished_callback: Callable[[], None] | None = None,
        overflow_at: Collection[int] = (),
        unplug_after: int | None = None,
        silent_unplug: bool = False,
        **_options: Any,
    ) -> None:
        array = np.asarray(signal, dtype=np.float32)
        self.signal = array[:, None] if array.ndim == 1 else array
        self.samplerate = float(samplerate)
        self.blocksize = int(blocksize)
        self.channels = channels
        self.device = device
        self.dtype = dtype
        self.blocks = 0
        self.closed = False
        self._callback = callback
        self._finished = finished_callback
        self._overflow_at = frozenset(overflow_at)
        self._unplug_after = unplug_after
        self._silent_unplug = silent_unplug
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.closed:
            raise RuntimeError("stream is closed")
        if self.active:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="fake-input-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def close(self) -> None:
        self.stop()
        self.closed = True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _serve(self) -> None:
        start = time.monotonic()
        period = self.blocksize / self.samplerate
        while True:
            k = self.blocks
            if self._unplug_after is not None and k >= self._unplug_after:
                if self._finished is not None and not self._silent_unplug:
                    self._finished()
                return
            if self._stop.wait(max(0.0, start + (k + 1) * period - time.monotonic())):
                return
            block = np.zeros((self.blocksize, self.channels), dtype=np.float32)
            piece = self.signal[k * self.blocksize : (k + 1) * self.blocksize]
            block[: piece.shape[0]] = piece
            info = SimpleNamespace(
                inputBufferAdcTime=start + k * period, currentTime=time.monotonic()
            )
            self.blocks += 1
            self._callback(block, self.blocksize, info, CallbackFlags(k in self._overflow_at))
