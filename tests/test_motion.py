"""Motion between sampled frames and scene cuts from embedding distance."""

from __future__ import annotations

import numpy as np

from perception.encoders.cpu import CpuEncoderOptions, CpuFrameEncoder
from perception.motion import MotionMeter, SceneChangeDetector, cosine_distance


def scene(square_x: int, background: int = 90) -> np.ndarray:
    image = np.full((240, 320, 3), background, np.uint8)
    image[100:160, square_x : square_x + 60] = (30, 200, 240)
    return image


def test_motion_is_zero_for_a_still_picture_and_grows_with_movement() -> None:
    meter = MotionMeter()
    assert meter.update(scene(20)) == 0.0  # first frame: nothing to compare with
    assert meter.update(scene(20)) == 0.0
    small = meter.update(scene(30))
    large = meter.update(scene(200))
    assert 0.0 < small < large < 0.2


def test_sensor_noise_is_not_motion() -> None:
    rng = np.random.default_rng(0)
    meter = MotionMeter()
    base = scene(20).astype(np.int16)
    for _ in range(3):
        noisy = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
        motion = meter.update(noisy)
    assert motion < 0.005


def test_cut_is_flagged_once_and_the_exclusion_window_holds() -> None:
    encoder = CpuFrameEncoder(CpuEncoderOptions(people=False, faces=False))
    first = encoder.encode(scene(20)).embedding
    moved = encoder.encode(scene(40)).embedding
    other = encoder.encode(np.full((240, 320, 3), (240, 240, 250), np.uint8)).embedding
    assert cosine_distance(first, moved) < 0.25 < cosine_distance(first, other)

    detector = SceneChangeDetector(threshold=0.25, min_gap=2.0)
    flags = [
        detector.update(0.0, first),  # the first frame is not a cut
        detector.update(1.0, moved),
        detector.update(2.0, other),  # the cut
        detector.update(3.0, first),  # within 2 s of the last cut: suppressed
        detector.update(5.0, other),  # a cut again
    ]
    assert flags == [False, False, True, False, True]
