"""The people tracker: counts stay steady through missed and stray detections."""

from __future__ import annotations

import pytest

from perception.tracking import PeopleTracker, TrackerOptions


def walker(t: float, x0: int = 100, speed: int = 60, y: int = 200) -> tuple[int, int, int, int]:
    """A 100-pixel-tall person walking right at ``speed`` pixels a second."""
    return (x0 + int(speed * t), y, 40, 100)


def test_first_frame_counts_at_once() -> None:
    tracker = PeopleTracker()
    assert tracker.update(0.0, [walker(0), walker(0, x0=400)]) == 2


def test_a_missed_frame_does_not_drop_a_walker() -> None:
    tracker = PeopleTracker()
    counts = [
        tracker.update(0.0, [walker(0.0), walker(0.0, x0=400)]),
        tracker.update(1.0, [walker(1.0)]),  # the second walker is missed once
        tracker.update(2.0, [walker(2.0), walker(2.0, x0=400)]),
    ]
    assert counts == [2, 2, 2]


def test_a_stray_detection_is_not_counted_until_confirmed() -> None:
    tracker = PeopleTracker()
    tracker.update(0.0, [walker(0.0)])
    assert tracker.update(1.0, [walker(1.0), (600, 50, 30, 70)]) == 1
    assert tracker.update(2.0, [walker(2.0)]) == 1
    assert tracker.update(4.0, [walker(4.0)]) == 1  # the stray one has expired


def test_someone_who_leaves_is_dropped_after_linger() -> None:
    tracker = PeopleTracker(TrackerOptions(linger=1.5))
    tracker.update(0.0, [walker(0.0), walker(0.0, x0=500)])
    assert tracker.update(1.0, [walker(1.0)]) == 2
    assert tracker.update(2.0, [walker(2.0)]) == 1


def test_far_jumps_and_different_sizes_start_new_tracks() -> None:
    tracker = PeopleTracker()
    tracker.update(0.0, [walker(0.0)])
    # 500 px (5 heights) in one second is another person; so is a box half the height. Neither
    # is confirmed yet, and the walker, missed once, still counts.
    assert tracker.update(1.0, [(600, 200, 40, 100), (140, 250, 20, 50)]) == 1
    assert tracker.update(2.0, [(600, 200, 40, 100), (140, 250, 20, 50)]) == 2


def test_reset_forgets_everyone() -> None:
    tracker = PeopleTracker()
    tracker.update(0.0, [walker(0.0)])
    tracker.reset()
    assert tracker.count == 0
    assert tracker.update(1.0, [(700, 100, 40, 100)]) == 1


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError):
        TrackerOptions(confirm=0)
