"""Where the graph's actors go: custom resources from ``runtime.resources``, and no GPU seen by
an actor given none (the multi-node run is in ``tests/test_multinode.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import ray

from runtime.config import load_config
from runtime.graph import _accelerator, _gpus, _placed
from runtime.stages import ModelPaths, build_backend
from vigil.errors import ConfigError

NO_PATHS = ModelPaths(llm=Path("x"), asr=Path("x"), vad=Path("x"), voice=None)


def test_stages_ask_for_the_resources_configured_for_them() -> None:
    config = load_config(runtime={"resources": {"perception": {"perception_node": 0.5}}})
    assert _placed(config, "perception") == {"resources": {"perception_node": 0.5}}
    assert _placed(config, "llm") == {}


def test_resources_name_known_stages_and_positive_amounts() -> None:
    with pytest.raises(ConfigError, match="perception"):
        load_config(runtime={"resources": {"perceptoin": {"node": 1}}})
    with pytest.raises(ConfigError, match="above 0"):
        load_config(runtime={"resources": {"llm": {"gpu_node": 0}}})


def test_an_actor_given_no_gpu_sees_none(ray_cluster: None) -> None:
    @ray.remote
    def visible() -> str | None:
        return os.environ.get("CUDA_VISIBLE_DEVICES")

    assert ray.get(visible.options(num_cpus=0, **_gpus(0)).remote()) == ""


def test_a_tensor_parallel_engine_takes_its_gpus_in_one_actor() -> None:
    config = load_config(reaction={"backend": "vllm", "model": "m", "tensor_parallel": 2})
    assert _accelerator(config)["num_gpus"] == 2  # one actor: Ray puts it on one node
    backend = build_backend(config, NO_PATHS)
    assert backend.engine_options == {  # type: ignore[attr-defined]
        "tensor_parallel_size": 2,
        "distributed_executor_backend": "mp",
    }
    single = build_backend(load_config(reaction={"backend": "vllm", "model": "m"}), NO_PATHS)
    assert single.engine_options == {}  # type: ignore[attr-defined]


def test_a_resource_no_node_offers_is_named_in_a_warning(
    ray_cluster: None, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(runtime={"resources": {"llm": {"gpu_node": 1}}})
    with caplog.at_level("WARNING", logger="runtime.graph"):
        assert _placed(config, "llm") == {"resources": {"gpu_node": 1.0}}
    assert "no node offers gpu_node for runtime.resources.llm" in caplog.text
