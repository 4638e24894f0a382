"""Pick frames to analyse by media time, not by frame count.

Sources deliver frames at their own rate and with irregular timestamps (variable frame rate,
dropped frames, jittery camera clocks). Sampling on a grid of media time keeps the analysis rate
fixed whatever the source does and never drifts: slot ``k`` starts at ``origin + k / rate``.
"""

from __future__ import annotations

import math

__all__ = ["FrameSampler"]


class FrameSampler:
    """Accept at most one frame per grid slot of ``1 / rate_hz`` media seconds.

    The first frame taken fixes the grid's origin. A frame is wanted when its time reaches the
    next slot (within a small tolerance for float timestamps such as ``0.1 * 10``). After a gap
    the sampler jumps to the slot after the frame taken, so it never bursts to catch up. A jump
    back in time of more than one period (a source that restarted) starts a new grid.
    """

    def __init__(self, rate_hz: float) -> None:
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self.rate_hz = float(rate_hz)
        self.period = 1.0 / self.rate_hz
        self._tolerance = 0.01 * self.period
        self._origin: float | None = None
        self._next: float | None = None
        self._last: float | None = None

    @property
    def next_time(self) -> float | None:
        """Media time of the next slot, or None before the first frame."""
        return self._next

    def wants(self, media_time: float) -> bool:
        """Whether :meth:`take` would accept a frame at ``media_time`` (no state change)."""
        if self._next is None or self._last is None:
            return True
        if media_time < self._last - self.period:
            return True  # the source restarted: a new grid begins
        return media_time >= self._next - self._tolerance

    def take(self, media_time: float) -> bool:
        """Accept the frame at ``media_time`` if it is wanted, and advance to the next slot."""
        if not self.wants(media_time):
            return False
        if self._origin is None or self._last is None or media_time < self._last - self.period:
            self._origin = media_time
        slot = math.floor((media_time - self._origin + self._tolerance) / self.period)
        self._next = self._origin + (slot + 1) * self.period
        self._last = media_time
        return True

    def reset(self) -> None:
        """Forget the grid; the next frame starts a new one."""
        self._origin = self._next = self._last = None
