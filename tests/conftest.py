"""Shared fixtures: one Ray cluster per test session, the packaged models resolved once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[None]:
    """A local Ray for the whole session (starting one costs about 2 s and 700 MB)."""
    import ray

    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="session")
def model_paths():  # type: ignore[no-untyped-def]
    """Paths of the default models, assembled and verified once."""
    from runtime.config import load_config
    from runtime.stages import resolve_model_paths

    return resolve_model_paths(load_config())


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer CLIP with 16-d image features, saved the way a downloaded model is."""
    from bench.tiny_models import tiny_clip

    return tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
