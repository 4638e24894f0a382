"""The stage graph of one stream on Ray: which actors exist, with what resources, wired how.

    source ─▶ perception ─▶ decision ─▶ reaction
                  │   └───────┐   │         │
                  ▼           ▼   ▼         ▼
               memory ◀──── event hub ◀─────┘  (the driver reads the hub)

Stages are plain classes; here they become actors with ``ray.remote``. Vigil starts a local
Ray when none is running, or joins the cluster at ``runtime.ray_address``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import ray

from memory import MemoryStore
from runtime.actors.decision import DecisionActor
from runtime.actors.hub import EventHub
from runtime.actors.perception import PerceptionActor
from runtime.actors.reaction import ReactionActor
from runtime.config import VigilConfig
from runtime.stages import (
    ModelPaths,
    build_audio_perception,
    build_clip_segmenter,
    build_decision_stage,
    build_reaction_stage,
    build_sinks,
    build_video_perception,
)

__all__ = ["StreamGraph", "ensure_ray"]


def ensure_ray(address: str | None) -> bool:
    """Connect to Ray; returns True when this call started a local cluster (to shut it down)."""
    if ray.is_initialized():
        return False
    if address is not None:
        ray.init(address=address, log_to_driver=False)
        return False
    # A private cluster for this process: token authentication guards shared clusters, and
    # logical CPUs above the core count let several light actors share a small machine.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=max(4, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False)
    return True


def _accelerator(config: VigilConfig) -> dict[str, Any]:
    """Actor options for a backend that runs on a GPU (vLLM: its engine lives in the actor,
    and its workers must be spawned, not forked, inside a Ray worker)."""
    if config.reaction.backend != "vllm":
        return {}
    return {
        "num_gpus": 1,
        "runtime_env": {"env_vars": {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}},
    }


@dataclass(frozen=True, slots=True)
class StreamGraph:
    """The actor handles of one stream's graph."""

    stream_id: str
    hub: Any
    memory: Any
    reaction: Any
    decision: Any
    perception: Any

    @classmethod
    async def start(
        cls, config: VigilConfig, paths: ModelPaths, *, stream_id: str, source: str, paced: bool
    ) -> StreamGraph:
        """Create and connect the actors, and wait until every model is loaded."""
        rt = config.runtime
        hub = ray.remote(EventHub).options(num_cpus=0).remote(rt.events)
        if config.memory.persistent:
            # Imported here: LanceDB and the text embedder take seconds to import.
            from runtime.actors.memory import LongTermMemoryActor

            memory = (
                ray.remote(LongTermMemoryActor).options(num_cpus=0).remote(config.memory, stream_id)
            )
        else:
            memory = ray.remote(MemoryStore).options(num_cpus=0).remote()
        reaction = (
            ray.remote(ReactionActor)
            .options(num_cpus=rt.reaction_cpus, **_accelerator(config))
            .remote(
                functools.partial(build_reaction_stage, config, paths),
                memory=memory,
                hub=hub,
                recall=config.memory.persistent,
                sinks=functools.partial(build_sinks, config),
            )
        )
        decision = (
            ray.remote(DecisionActor)
            .options(num_cpus=0)
            .remote(
                build_decision_stage(config, video=not source.startswith("mic")),
                reaction=reaction,
                memory=memory,
                hub=hub,
            )
        )
        perception = (
            ray.remote(PerceptionActor)
            .options(num_cpus=rt.perception_cpus)
            .remote(
                stream_id=stream_id,
                source=source,
                paced=paced,
                video=functools.partial(build_video_perception, config, paths, paced=paced),
                audio=functools.partial(build_audio_perception, config, paths),
                clips=functools.partial(build_clip_segmenter, config),
                decision=decision,
                memory=memory,
                hub=hub,
                video_queue=rt.video_queue,
                audio_queue_seconds=rt.audio_queue_seconds,
                in_flight=rt.in_flight,
            )
        )
        graph = cls(stream_id, hub, memory, reaction, decision, perception)
        await reaction.connect.remote(decision)
        await reaction.ready.remote()
        await perception.ready.remote()
        if config.reaction.prefill_interval > 0:
            await reaction.watch.remote(stream_id, config.reaction.prefill_interval)
        return graph

    def stop(self) -> None:
        """Kill every actor of the graph (what memory held for the run goes with it)."""
        for handle in (self.perception, self.decision, self.reaction, self.memory, self.hub):
            ray.kill(handle)
