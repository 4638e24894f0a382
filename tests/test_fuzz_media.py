"""Fuzzed media: more than a hundred odd and damaged inputs (tests/fuzz_media.py), each played
to its end by the file source, and what came out checked as perception would use it.

Every input either plays (frames that are images, audio that is finite and in range, times
that never go back, exactly one end) or is refused with an error that names the file and says
what to do. Well-formed files, however unusual, must play whole and without a warning.
Damaged ones may lose what was damaged, with a warning, and nothing else.
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from evaluation.demo import Overlay, build_clip
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.session import run_streams
from runtime.sources.file import FileSource
from runtime.stages import ModelPaths
from tests.fuzz_media import BASES, NAMES, ODDITIES, build_all
from vigil.errors import MediaError
from vigil.items import AudioChunk, EndOfStream, StreamError, VideoFrame

WELL_FORMED = {**BASES, **ODDITIES}


@dataclass
class Played:
    refused: MediaError | None = None
    frames: list[VideoFrame] = field(default_factory=list)
    chunks: list[AudioChunk] = field(default_factory=list)
    errors: list[StreamError] = field(default_factory=list)
    ends: int = 0


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_all(tmp_path_factory.mktemp("fuzz"))


async def play(path: Path) -> Played:
    played = Played()
    source = FileSource(path, stream_id="fuzz", paced=False)
    try:
        await source.open()
    except MediaError as error:
        played.refused = error
        return played
    try:
        async with asyncio.timeout(60):
            async for item in source:
                match item:
                    case VideoFrame():
                        played.frames.append(item)
                    case AudioChunk():
                        played.chunks.append(item)
                    case StreamError():
                        played.errors.append(item)
                    case EndOfStream():
                        played.ends += 1
    finally:
        await source.close()
    return played


def test_there_are_more_than_a_hundred_inputs(inputs: dict[str, Path]) -> None:
    assert len(inputs) == len(NAMES) >= 100
    assert set(inputs) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
async def test_an_input_plays_or_is_refused_with_a_clear_error(
    inputs: dict[str, Path], name: str
) -> None:
    played = await play(inputs[name])
    if played.refused is not None:
        assert name not in WELL_FORMED, f"a well-formed file was refused: {played.refused}"
        assert inputs[name].name in str(played.refused) and played.refused.hint
        return
    assert played.ends == 1
    for frame in played.frames:
        assert frame.image.dtype == np.uint8 and frame.image.ndim == 3
        assert frame.image.shape[2] == 3 and min(frame.image.shape[:2]) >= 1
    for chunk in played.chunks:
        assert chunk.samples.dtype == np.float32 and chunk.samples.ndim == 2
        assert chunk.sample_rate > 0 and chunk.samples.shape[1] >= 1
        assert np.isfinite(chunk.samples).all() and np.abs(chunk.samples).max(initial=0) <= 1.0
    for items in (played.frames, played.chunks):
        times = [item.media_time for item in items]
        assert all(math.isfinite(t) and t >= 0 for t in times)
        assert times == sorted(times), "media time went back"
    for error in played.errors:
        assert error.message and error.stage
    assert not any(e.fatal for e in played.errors[:-1]), "only the last error may end it"
    if name in WELL_FORMED:
        media = WELL_FORMED[name]
        assert played.errors == []
        assert len(played.frames) == (len(media.times) if media.video else 0)
        heard = sum(len(c.samples) / c.sample_rate for c in played.chunks)
        assert heard == pytest.approx(
            media.seconds if media.audio else 0.0, abs=0.2
        )  # codec padding


async def test_a_clock_that_jumps_back_is_bridged_with_a_warning(inputs: dict[str, Path]) -> None:
    once = await play(inputs["ts-h264-mp2"])
    twice = await play(inputs["timestamps-jump-back.ts"])
    assert len(twice.frames) == 2 * len(once.frames)
    assert any("jumped back" in e.message for e in twice.errors)
    last = twice.frames[-1].media_time
    assert last == pytest.approx(2 * once.frames[-1].media_time, abs=0.3)


def test_a_bounded_atheris_run_finds_no_crash(inputs: dict[str, Path], tmp_path: Path) -> None:
    """libFuzzer mutates small valid files for a bounded time; it exits non-zero (and saves
    the input) on any crash, hang or check that fails in tests/fuzz_decoders.py."""
    seeds, corpus = tmp_path / "seeds", tmp_path / "corpus"
    seeds.mkdir()
    corpus.mkdir()
    for name in ("mp4-h264-aac", "avi-mjpeg-pcm", "mkv-mpeg4-mp3", "wav-u8-8k", "ogg-opus"):
        shutil.copy(inputs[name], seeds)
    run = subprocess.run(
        [
            *(sys.executable, "-m", "tests.fuzz_decoders", str(corpus), str(seeds)),
            *("-runs=3000", "-max_total_time=45", "-timeout=30", "-rss_limit_mb=0"),
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    done = re.search(r"Done (\d+) runs in (\d+) second", run.stderr)
    assert done, run.stderr[-2000:]
    print(f"atheris: {done[1]} inputs in {done[2]} s, no crash")
    assert int(done[1]) >= 300


@pytest.mark.slow
def test_a_damaged_stream_leaves_the_stream_beside_it_alone(
    ray_cluster: None, model_paths: ModelPaths, inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Two graphs in one cluster: a clip with a sign and a spoken question about it, and a
    recording with a damaged stretch. The damage is reported on its own stream only."""
    good = build_clip(
        sample_video("vtest.avi"),
        tmp_path / "sign.mp4",
        start=30.0,
        duration=8.0,
        speech=[("What does the sign say?", 1.5)],
        overlays=[Overlay(text="GATE 7 CLOSED", t0=0.0, t1=8.0, position="top")],
    )
    damaged = inputs["ts-h264-mp2+noise-block"]
    fine, broken = asyncio.run(
        run_streams(load_config(), [str(good), str(damaged)], paced=False, paths=model_paths)
    )
    assert fine.errors == [] and max(o.media_time for o in fine.observations) >= 7.0
    assert any("7" in r.text or "GATE" in r.text.upper() for r in fine.responses), [
        r.text for r in fine.responses
    ]
    assert broken.errors and all("corrupt" in e.message and not e.fatal for e in broken.errors)
    assert all(e.stream_id == broken.stream_id for e in broken.errors)
