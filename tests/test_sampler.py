"""FrameSampler: one frame per media-time slot, whatever the source's timing."""

from __future__ import annotations

import pytest

from perception.sampler import FrameSampler


def take_all(sampler: FrameSampler, times: list[float]) -> list[float]:
    return [t for t in times if sampler.take(t)]


def test_ten_fps_becomes_one_per_second_despite_float_error() -> None:
    times = [i * 0.1 for i in range(50)]  # 0.1 * 10 is 0.9999999999999999
    assert take_all(FrameSampler(1.0), times) == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0])


def test_wants_is_a_peek_and_take_advances() -> None:
    sampler = FrameSampler(2.0)
    assert sampler.wants(0.0) and sampler.wants(0.0)
    assert sampler.take(0.0)
    assert not sampler.wants(0.2) and not sampler.take(0.2)
    assert sampler.wants(0.5)
    assert sampler.next_time == pytest.approx(0.5)


def test_jittery_timestamps_stay_on_the_grid() -> None:
    times = [0.0, 0.37, 0.98, 1.04, 1.5, 2.01, 2.6, 2.97, 3.02]
    assert take_all(FrameSampler(1.0), times) == [0.0, 1.04, 2.01, 3.02]


def test_gap_does_not_burst_to_catch_up() -> None:
    times = [0.0, 0.5, 7.3, 7.4, 7.9, 8.0, 8.1]
    assert take_all(FrameSampler(1.0), times) == [0.0, 7.3, 8.0]


def test_jump_back_starts_a_new_grid() -> None:
    sampler = FrameSampler(1.0)
    assert take_all(sampler, [100.0, 100.5, 101.0]) == [100.0, 101.0]
    assert sampler.take(3.2)  # the source restarted
    assert not sampler.take(3.7)
    assert sampler.take(4.2)


def test_rejects_a_non_positive_rate() -> None:
    with pytest.raises(ValueError):
        FrameSampler(0)
