"""Offline mode, as the official protocols run: a fresh clip and a fresh run per question.

Each question sees the video cut to ``[0, t]`` (or ``[t - context, t]``) and is asked at the
clip's last sampled second. Forward probes are each such a question; Proactive Output is
polled every second from ``time_stamp + 1`` on a clip ``[time_stamp, poll]`` until the agent
says yes or the window (``ground_truth_time_stamp + 4``) ends. Slow by design (one graph
start per question or poll); streaming mode is the fast one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import av
import numpy as np

from evaluation.media import write_clip
from evaluation.queries import Query
from runtime.config import VigilConfig
from runtime.session import run_stream
from runtime.stages import ModelPaths
from vigil.errors import MediaError

__all__ = ["ask_offline", "cut"]

_RATE = 16000


async def ask_offline(
    config: VigilConfig,
    query: Query,
    clips: Path,
    *,
    context: float | None = None,
    paths: ModelPaths | None = None,
    stream_id: str = "offline-0",
) -> dict[str, Any]:
    """One answer record for ``query``, from runs on clips cut at its time (or its polls)."""
    record: dict[str, Any] = {"key": query.key, "asked_at": query.at, "error": None}
    windows = (
        [(query.at, t) for t in query.polls]
        if query.rule == "proactive"
        else [(max(0.0, query.at - context) if context else 0.0, query.at)]
    )
    for polls, (t0, t1) in enumerate(windows, start=1):
        clip = cut(query.video, t0, max(t1, t0 + 1.0), clips)
        outcome = await run_stream(
            config, str(clip), stream_id=stream_id, paced=False, paths=paths,
            asks=[(query.prompt, max(0.0, t1 - t0 - 1.0))],
        )  # fmt: skip
        answers = [r for r in outcome.responses if not r.cancelled]
        text = (answers[0].choice or answers[0].text) if answers else None
        record.update(response=text, latency=answers[0].latency if answers else None)
        record["emitted_at"] = t1 if text is not None else None
        if query.rule != "proactive":
            break
        record["polls"] = polls
        if text is not None and "yes" in text.lower():
            return record
        record.update(response=None, emitted_at=None)
    if record.get("response") is None and query.rule != "proactive":
        record["error"] = "no answer came back"
    return record


def cut(video: Path, t0: float, t1: float, folder: Path) -> Path:
    """``[t0, t1]`` of ``video`` (picture and mono 16 kHz sound) as an H.264 file, cached."""
    name = hashlib.sha1(f"{video.resolve()}:{t0:.3f}:{t1:.3f}".encode()).hexdigest()[:16]
    out = folder / f"{name}.mp4"
    if out.exists():
        return out
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with av.open(str(video)) as container:
            fps = float(container.streams.video[0].average_rate or 25)
            frames = [
                f.to_ndarray(format="bgr24")
                for f in container.decode(video=0)
                if f.time is not None and t0 - 0.5 / fps <= f.time < t1
            ]
        sound = _sound(video, t0, t1)
    except (av.error.FFmpegError, IndexError) as error:
        raise MediaError(f"cannot cut {video} at {t0:.1f}-{t1:.1f}s: {error}") from error
    if not frames:
        raise MediaError(f"{video} has no frames between {t0:.1f} and {t1:.1f} s")
    partial = out.with_suffix(".part.mp4")
    write_clip(partial, iter(frames), fps, sound, _RATE)
    partial.rename(out)
    return out


def _sound(video: Path, t0: float, t1: float) -> np.ndarray:
    """Mono float32 samples of ``[t0, t1]`` at 16 kHz (silence when the video has no sound)."""
    samples = np.zeros(round((t1 - t0) * _RATE), dtype=np.float32)
    with av.open(str(video)) as container:
        if not container.streams.audio:
            return samples
        resampler = av.AudioResampler(format="flt", layout="mono", rate=_RATE)
        chunks = [
            r.to_ndarray().reshape(-1)
            for frame in container.decode(audio=0)
            for r in resampler.resample(frame)
        ]
    whole = np.concatenate(chunks) if chunks else samples[:0]
    piece = whole[round(t0 * _RATE) : round(t1 * _RATE)]
    samples[: piece.size] = piece
    return samples
