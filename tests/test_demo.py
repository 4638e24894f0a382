"""evaluation.demo: clips with speech and text at known times, and the README's demo clip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from evaluation import samples as samples_module
from evaluation.demo import Overlay, build_clip, build_demo_clip, clip_info
from evaluation.media import write_clip
from evaluation.samples import sample_video
from vigil.errors import MediaError


def _decode(path: Path) -> tuple[list[np.ndarray], np.ndarray, int, dict[str, str]]:
    frames, audio, rate = [], [], 0
    with av.open(str(path)) as container:
        codecs = {s.type: s.codec_context.name for s in container.streams}
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="bgr24"))
            else:
                audio.append(frame.to_ndarray()[0])
                rate = frame.sample_rate
    return frames, np.concatenate(audio), rate, codecs


@pytest.fixture
def source_video(tmp_path: Path) -> Path:
    """4 s of mid-grey at 10 fps: anything drawn on it stands out."""
    frames = [np.full((120, 160, 3), 100, np.uint8)] * 40
    return write_clip(tmp_path / "source.mp4", frames, 10).path


def test_build_clip_places_speech_and_overlays_at_known_times(
    source_video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "built.mp4"
    overlay = Overlay(text="BUS 42", t0=1.0, t1=1.5, position="bottom")
    path = build_clip(
        source_video,
        out,
        start=1.0,
        duration=2.0,
        speech=[("hello there", 0.5)],
        overlays=[overlay],
    )
    assert path == out
    clip = clip_info(out)
    assert clip.overlays == (overlay,)
    assert (clip.duration, clip.fps, clip.width, clip.height) == (2.0, 10.0, 160, 120)
    spoken = clip.speech[0]
    assert spoken.start == 0.5 and 0.8 < spoken.end < 1.9 and spoken.voice == "en-us"

    frames, audio, rate, codecs = _decode(out)
    assert codecs == {"video": "h264", "audio": "aac"} and len(frames) == 20
    drawn = [int(np.abs(f.astype(int) - 100).max() > 60) for f in frames]
    assert drawn == [0] * 10 + [1] * 5 + [0] * 5
    bottom = frames[12][60:]
    assert np.abs(bottom.astype(int) - 100).max() > 60  # drawn in the bottom half
    loud = np.flatnonzero(np.abs(audio) > 0.02) / rate
    assert loud[0] == pytest.approx(0.5, abs=0.03)
    assert loud[-1] == pytest.approx(spoken.end, abs=0.05)


def test_build_clip_reuses_its_output_when_parameters_match(
    source_video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "built.mp4"
    build_clip(source_video, out, duration=1.0, speech=[("hi", 0.2)], voice="en-gb")
    first, stamp = clip_info(out), out.stat().st_mtime_ns
    assert first.speech[0].voice == "en-gb"
    build_clip(source_video, out, duration=1.0, speech=[("hi", 0.2)], voice="en-gb")
    assert clip_info(out) == first and out.stat().st_mtime_ns == stamp
    build_clip(source_video, out, duration=1.5, speech=[("hi", 0.2)], voice="en-gb")
    assert clip_info(out).duration == 1.5 and out.stat().st_mtime_ns != stamp


def test_build_clip_rejects_what_does_not_fit(source_video: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        build_clip(source_video, tmp_path / "a.mp4", duration=1.0, speech=[("too late", 0.9)])
    with pytest.raises(MediaError, match="ends before"):
        build_clip(source_video, tmp_path / "b.mp4", start=3.0, duration=2.0)
    with pytest.raises(ValueError, match="unknown overlay position"):
        bad = Overlay(text="x", t0=0.0, t1=1.0, position="up")
        build_clip(source_video, tmp_path / "c.mp4", duration=1.0, overlays=[bad])


def test_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(samples_module.shutil, "which", lambda name: f"/usr/bin/{name}")
    failed = subprocess.CompletedProcess([], 100, "", "E: Unable to locate package opencv-doc")
    monkeypatch.setattr(samples_module.subprocess, "run", lambda *args, **kwargs: failed)
    with pytest.raises(MediaError, match="apt-get download opencv-doc") as caught:
        sample_video("vtest.avi")
    assert "apt-get update" in caught.value.hint
    assert list((tmp_path / "media").iterdir()) == []  # nothing half-fetched is left behind


def test_demo_clip_has_people_and_a_spoken_question(tmp_path: Path) -> None:
    try:
        sample_video("vtest.avi")
    except MediaError as exc:
        pytest.skip(f"vtest.avi is not cached and cannot be fetched with apt-get: {exc}")
    demo = build_demo_clip(tmp_path / "demo.mp4", start=17.0, duration=4.0, question_at=1.0)
    assert demo.question == "How many people are walking?" and demo.duration == 4.0
    assert demo.question_start == 1.0 and 2.0 < demo.question_end < 3.5
    assert demo.people_walking == 7 and demo.steady == (0.5, 4.0)
    elsewhere = build_demo_clip(tmp_path / "early.mp4", start=0.0, duration=4.0, question_at=1.0)
    assert elsewhere.people_walking is None and elsewhere.steady is None

    frames, audio, rate, codecs = _decode(demo.path)
    assert codecs == {"video": "h264", "audio": "aac"}
    assert len(frames) == 40 and frames[0].shape == (576, 768, 3)
    assert audio.size / rate == pytest.approx(4.0, abs=0.07)
    loud = np.flatnonzero(np.abs(audio) > 0.02) / rate
    assert loud[0] == pytest.approx(demo.question_start, abs=0.03)
    assert loud[-1] == pytest.approx(demo.question_end, abs=0.05)
