"""Checks on benchmark videos before a run: present, readable, long enough for each question."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import av

__all__ = ["locate", "video_duration", "video_problem"]


@lru_cache(maxsize=4096)
def video_duration(path: Path) -> float | None:
    """Seconds of media in ``path`` (container duration), or None when it cannot be opened."""
    try:
        with av.open(str(path)) as container:
            if container.duration is not None:
                return container.duration / 1_000_000
            stream = container.streams.video[0]
            return float(stream.duration * stream.time_base) if stream.duration else None
    except (OSError, av.error.FFmpegError, IndexError):
        return None


def locate(root: Path, relative: str) -> Path:
    """Where a benchmark's relative video path lives under ``root``.

    The official files name videos relative to their own layout (``./videos/x.mp4``,
    ``COIN/x.mp4``); users unpack them either keeping that layout or flat, so both are tried.
    """
    nested = root / relative.removeprefix("./")
    return nested if nested.exists() else root / Path(relative).name


def video_problem(path: Path, latest: float) -> str | None:
    """Why questions up to media second ``latest`` cannot be asked on ``path``, or None."""
    if not path.exists():
        return f"video {path} is missing"
    duration = video_duration(path)
    if duration is None:
        return f"video {path} cannot be read"
    if latest > duration + 0.5:
        return f"question time {latest:.1f}s is beyond the end of {path.name} ({duration:.1f}s)"
    return None
