"""evaluation.media: speech synthesis and clip writing, checked by reading the files back."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from evaluation import media
from evaluation.media import resample, speak, write_clip
from vigil.errors import MediaError


def _read(path: Path) -> tuple[list[np.ndarray], list[float], np.ndarray, int]:
    """Decoded frames, their times, the audio (mono float32) and its rate."""
    frames, times, audio, rate = [], [], [], 0
    with av.open(str(path)) as container:
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                frames.append(frame.to_ndarray(format="bgr24"))
                times.append(float(frame.time))
            else:
                audio.append(frame.to_ndarray()[0])
                rate = frame.sample_rate
    return frames, times, np.concatenate(audio) if audio else np.zeros(0), rate


def test_speak_gives_mono_float32_speech(tmp_path: Path) -> None:
    samples, rate = speak("How many people are walking?", keep=tmp_path / "q.wav")
    assert rate == 22050
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert 1.0 < samples.size / rate < 3.5
    assert 0.1 < np.abs(samples).max() <= 1.0
    assert (tmp_path / "q.wav").exists()

    at16k, rate16k = speak("How many people are walking?", sample_rate=16000)
    assert rate16k == 16000
    assert abs(at16k.size / 16000 - samples.size / 22050) < 0.01


def test_speak_follows_voice_and_speed() -> None:
    normal, rate = speak("one two three four five")
    fast, _ = speak("one two three four five", "en-gb", speed_wpm=320)
    assert fast.size < 0.75 * normal.size and rate == 22050


def test_speak_without_espeak_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(media.shutil, "which", lambda name: None)
    with pytest.raises(MediaError, match="espeak-ng is not installed") as caught:
        speak("hello")
    assert "apt-get install espeak-ng" in caught.value.hint


def test_resample_keeps_duration_and_pitch() -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32)
    out = resample(tone, 22050, 16000)
    assert abs(out.size - 16000) <= 64
    spectrum = np.abs(np.fft.rfft(out[:16000]))
    assert abs(int(np.argmax(spectrum)) - 440) <= 2  # 1 Hz bins over one second


def test_write_clip_round_trip(tmp_path: Path) -> None:
    """Frame i shows grey level 10*i; a beep written at 1.0 s is heard at 1.0 s."""
    frames = [np.full((96, 128, 3), 10 * i, np.uint8) for i in range(20)]
    audio = np.zeros(32000, np.float32)
    audio[16000:17600] = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(1600) / 16000)
    written = write_clip(tmp_path / "clip.mp4", frames, 10, audio, 16000)
    assert (written.frames, written.duration, written.width, written.height) == (20, 2.0, 128, 96)

    with av.open(str(written.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    images, times, sound, rate = _read(written.path)
    assert len(images) == 20 and rate == 16000
    assert times == pytest.approx([i / 10 for i in range(20)])
    assert [round(float(im.mean()) / 10) for im in images] == list(range(20))
    loud = np.flatnonzero(np.abs(sound) > 0.1)
    assert loud[0] / rate == pytest.approx(1.0, abs=0.01)
    assert loud[-1] / rate == pytest.approx(1.1, abs=0.01)


def test_write_clip_pads_the_shorter_track(tmp_path: Path) -> None:
    grey = np.full((64, 64, 3), 128, np.uint8)
    long_audio = write_clip(tmp_path / "a.mp4", [grey] * 5, 10, np.zeros(16000, np.float32))
    assert long_audio.frames == 10 and long_audio.duration == pytest.approx(1.0)
    long_video = write_clip(tmp_path / "v.mkv", [grey] * 30, 10, np.zeros(800, np.float32))
    assert long_video.audio_samples == 48000
    _, times, sound, rate = _read(long_video.path)
    assert len(times) == 30 and sound.size / rate >= 2.9


def test_write_clip_rejects_bad_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        write_clip(tmp_path / "x.mp4", [], 10)
    with pytest.raises(ValueError, match="same size"):
        write_clip(
            tmp_path / "y.mp4",
            [np.zeros((64, 64, 3), np.uint8)] * 2 + [np.zeros((32, 32, 3), np.uint8)],
            10,
        )
