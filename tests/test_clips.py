"""Clips: scene boundaries found where footage from different videos was joined."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from perception.clips import ClipOptions, ClipSegmenter, summarise
from perception.encoders.cpu import CpuFrameEncoder
from perception.video import VideoOptions, VideoPerception
from tests.perception_models import MEGAMIND, VTEST, read_frames
from vigil.items import Observation, VideoFrame

FPS = 10


def joined_footage() -> tuple[list[np.ndarray], list[float]]:
    """Street (7.5 s), animated film (6.3 s, with a cut of its own near 11.3 s), street
    again elsewhere (8 s), at 10 fps; and the media times of the two joins."""
    street = read_frames(VTEST, set(range(0, 75)) | set(range(500, 580)))
    picks = [10 + round(i * 23.976 / FPS) for i in range(63)]
    film = read_frames(MEGAMIND, set(picks))
    frames = [street[i] for i in range(75)]
    frames += [cv2.resize(film[i], (768, 576)) for i in picks]
    frames += [street[i] for i in range(500, 580)]
    return frames, [75 / FPS, (75 + 63) / FPS]


def observation(
    t: float, people: int, *, text: tuple[str, ...] = (), scene_change: bool = False
) -> Observation:
    return Observation(
        stream_id="s",
        media_time=t,
        frame_index=int(t * FPS),
        people=people,
        faces=0,
        text=text,
        colours=("grey",),
        motion=0.01,
        scene_change=scene_change,
        description="",
        embedding=np.array([1.0, 0.0], np.float32),
    )


async def test_scene_clips_are_cut_within_a_second_of_each_join() -> None:
    frames, joins = joined_footage()
    video = VideoPerception(CpuFrameEncoder(), None, VideoOptions())
    segmenter = ClipSegmenter(ClipOptions(mode="scene", min_seconds=2.0))
    await video.start()
    clips = []
    for index, image in enumerate(frames):
        item = VideoFrame(stream_id="s", media_time=index / FPS, index=index, image=image)
        if (seen := await video.process(item)) is not None and (clip := segmenter.push(seen)):
            clips.append(clip)
    await video.stop()
    if (last := segmenter.flush()) is not None:
        clips.append(last)
    starts = [clip.t0 for clip in clips[1:]]
    for join in joins:
        assert any(0 <= start - join < 1.0 for start in starts), (join, starts)
    street = [(0.0, joins[0]), (joins[1] + 1.0, len(frames) / FPS)]
    assert not [s for s in starts if any(a < s < b for a, b in street)], "no cut in a still shot"
    assert clips[0].t0 == 0.0 and clips[-1].t1 == pytest.approx((len(frames) - 1) // FPS)
    for clip in clips:
        assert clip.embedding is not None and abs(np.linalg.norm(clip.embedding) - 1) < 1e-4
        assert "people" in clip.summary


def test_uniform_clips_have_n_frames_and_a_scene_clip_has_a_minimum_length() -> None:
    uniform = ClipSegmenter(ClipOptions(mode="uniform", frames=4))
    closed = [c for t in range(10) if (c := uniform.push(observation(float(t), 2)))]
    assert [(c.t0, c.t1) for c in closed] == [(0.0, 3.0), (4.0, 7.0)]
    assert uniform.flush().t0 == 8.0  # type: ignore[union-attr]

    scenes = ClipSegmenter(ClipOptions(mode="scene", min_seconds=2.0, max_seconds=6.0))
    cuts = {1.0, 5.0}  # the cut at 1 s comes too soon after the start to make a clip
    closed = [
        c for t in range(12) if (c := scenes.push(observation(float(t), 2, scene_change=t in cuts)))
    ]
    assert [(c.t0, c.t1) for c in closed] == [(0.0, 4.0), (5.0, 10.0)], "cut, then max length"


def test_summary_reads_counts_text_and_motion() -> None:
    frames = [
        observation(0.0, 3, text=("EXIT",)),
        observation(1.0, 3),
        observation(2.0, 5, text=("EXIT", "Gate 7")),
    ]
    assert summarise(frames) == (
        "3-5 people (mostly 3); text 'EXIT', 'Gate 7'; mostly grey; some motion"
    )
