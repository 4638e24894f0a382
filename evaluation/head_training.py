"""Train and calibrate the respond/silent head on the synthetic proactive set.

1. Build the proactive set (:mod:`evaluation.proactive_set`) with the training seed.
2. Play each clip through the real graph, unpaced, and keep its observations: the head learns
   from exactly what perception gives it live, OCR delays and detector flicker included.
3. One row per (instruction, observation): :func:`decision.features.features`, labelled
   "respond" when the observation falls in the scoring window after the true moment.
4. Fit a class-balanced logistic regression (scikit-learn).
5. Calibrate the threshold by replaying every instruction through the same re-arming rule the
   decision stage uses, and keep the threshold with the best share of on-time first answers
   minus the share of spurious ones (the middle of the best plateau, for margin).

The test set (another seed) is never seen here; ``bench/proactive.py`` measures on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress

from decision.conditions import Rearm
from decision.features import Target, features
from decision.head import RespondHead
from evaluation.formats.streamingbench import load_streamingbench
from evaluation.proactive_set import build_proactive
from runtime.config import VigilConfig
from runtime.graph import ensure_ray
from runtime.session import run_stream
from runtime.stages import resolve_model_paths
from vigil.items import Observation

__all__ = ["Episode", "calibrate", "collect_episodes", "fit_head", "replay", "train_head"]

WINDOW = 2.0
"""Seconds after the true moment in which a firing is on time (StreamingBench's tolerance)."""


@dataclass(frozen=True, slots=True)
class Episode:
    """One instruction over one clip's observations, with its true moment."""

    instruction: str
    due: float
    observations: tuple[Observation, ...]

    def rows(self) -> tuple[np.ndarray, np.ndarray]:
        target = Target.parse(self.instruction)
        x, y = [], []
        before = None
        for observation in self.observations:
            x.append(features(target, observation, before))
            y.append(self.due <= observation.media_time <= self.due + WINDOW)
            before = observation
        return np.stack(x), np.asarray(y, dtype=np.int8)


async def collect_episodes(
    config: VigilConfig, annotations: Path, videos: Path, progress: Progress | None = None
) -> list[Episode]:
    """Observations of every clip in ``annotations``, one episode per instruction."""
    queries, problems, _ = load_streamingbench(annotations, videos)
    if problems:
        raise ValueError(f"the proactive set has problems: {problems[0].message}")
    by_video: dict[Path, list[Any]] = {}
    for query in queries:
        by_video.setdefault(query.video, []).append(query)
    paths = resolve_model_paths(config)
    ensure_ray(config.runtime.ray_address)
    task = progress.add_task("perceiving clips", total=len(by_video)) if progress else None
    episodes = []
    for video, unit in by_video.items():
        outcome = await run_stream(config, str(video), paced=False, paths=paths)
        seen = tuple(outcome.observations)
        episodes += [Episode(q.instruction, q.expected_time, seen) for q in unit]
        if progress is not None and task is not None:
            progress.advance(task)
    return episodes


def fit_head(episodes: Sequence[Episode]) -> tuple[np.ndarray, float]:
    """Weights and bias of a class-balanced logistic regression over every episode's rows."""
    from sklearn.linear_model import LogisticRegression

    rows = [episode.rows() for episode in episodes]
    x = np.concatenate([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=2000)
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def replay(head: RespondHead, episode: Episode, release: int = 2) -> list[float]:
    """Media times at which the decision stage would fire for ``episode`` with ``head``."""
    target = Target.parse(episode.instruction)
    edge = Rearm(release)
    fired, before = [], None
    for observation in episode.observations:
        p = head.probability(features(target, observation, before))
        if edge.update(p >= head.threshold):
            fired.append(observation.media_time)
        before = observation
    return fired


def timing(head: RespondHead, episodes: Sequence[Episode]) -> dict[str, float]:
    """On-time share of first firings, missed share, and spurious share of all firings."""
    on_time = missed = spurious = total = 0
    for episode in episodes:
        fired = replay(head, episode)
        total += len(fired)
        spurious += max(0, len(fired) - 1)
        if not fired:
            missed += 1
        elif abs(fired[0] - episode.due) <= WINDOW:
            on_time += 1
        else:
            spurious += 1  # a wrong first firing is spurious too
    n = max(1, len(episodes))
    return {
        "on_time": on_time / n,
        "missed": missed / n,
        "spurious": spurious / max(1, total),
    }


def calibrate(
    weights: np.ndarray, bias: float, episodes: Sequence[Episode]
) -> tuple[float, dict[str, float]]:
    """The threshold with the best on-time minus spurious share, and its figures."""
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    scored = []
    for threshold in grid:
        figures = timing(RespondHead(weights, bias, float(threshold)), episodes)
        scored.append((figures["on_time"] - figures["spurious"], float(threshold), figures))
    best = max(score for score, _, _ in scored)
    plateau = [item for item in scored if item[0] == best]
    _, threshold, figures = plateau[len(plateau) // 2]
    return threshold, figures


async def train_head(
    config: VigilConfig, data: Path, out: Path, *, clips: int, seed: int
) -> tuple[RespondHead, dict[str, float]]:
    """Build the training set under ``data``, fit, calibrate and save the head to ``out``."""
    made = build_proactive(data, clips=clips, seed=seed)
    with Progress() as progress:
        episodes = await collect_episodes(config, made.annotations, made.root, progress)
    weights, bias = fit_head(episodes)
    threshold, figures = calibrate(weights, bias, episodes)
    positives = int(sum(episode.rows()[1].sum() for episode in episodes))
    meta = {
        "trained_on": {
            "set": "synthetic proactive",
            "clips": clips,
            "seed": seed,
            "instructions": len(episodes),
            "rows": sum(len(e.observations) for e in episodes),
            "positives": positives,
        },
        "calibration": {k: round(v, 3) for k, v in figures.items()},
    }
    head = RespondHead(weights, bias, threshold, meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    head.save(out)
    return head, figures
