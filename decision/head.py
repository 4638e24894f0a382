"""The respond/silent head: a logistic model over :mod:`decision.features`, stored as JSON.

Weights are a few dozen numbers, so they are kept as readable JSON (names beside values, no
pickle) and checked on load against the feature list of this version of the code. The
threshold is part of the file because it was calibrated with the weights
(:mod:`evaluation.head_training`); configuration may override it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from decision.features import FEATURES
from vigil.errors import ConfigError

__all__ = ["PACKAGED_HEAD", "RespondHead"]

PACKAGED_HEAD = "respond.json"
"""The head trained on the synthetic proactive set, shipped in ``decision/heads``."""


@dataclass(frozen=True, slots=True)
class RespondHead:
    """``probability(x) = sigmoid(weights . x + bias)``; respond when it reaches ``threshold``."""

    weights: np.ndarray
    bias: float
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)

    def probability(self, x: np.ndarray) -> float:
        z = float(self.weights @ x) + self.bias
        return 0.5 * (1.0 + float(np.tanh(z / 2)))  # the logistic function, without overflow

    def save(self, path: Path) -> None:
        data = {
            "features": dict(zip(FEATURES, map(float, self.weights), strict=True)),
            "bias": self.bias,
            "threshold": self.threshold,
            **self.meta,
        }
        path.write_text(json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path | None = None, threshold: float | None = None) -> RespondHead:
        """The head in ``path`` (default: the packaged one), its threshold optionally replaced."""
        try:
            if path is None:
                text = resources.files("decision.heads").joinpath(PACKAGED_HEAD).read_text()
            else:
                text = Path(path).read_text()
            data = json.loads(text)
            names = data.pop("features")
            bias = float(data.pop("bias"))
            calibrated = float(data.pop("threshold"))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"cannot read the respond head {path or PACKAGED_HEAD}: {error}",
                hint="train one with `vigil eval train-head` or set decision.head to its file",
            ) from error
        if list(names) != list(FEATURES):
            raise ConfigError(
                f"the respond head {path} was trained on other features",
                hint="retrain it with `vigil eval train-head` for this version of Vigil",
            )
        weights = np.asarray([names[n] for n in FEATURES], dtype=np.float32)
        chosen = calibrated if threshold is None else threshold
        return cls(weights, bias, chosen, data)
