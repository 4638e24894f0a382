"""The stage graph of one stream on Ray: which actors exist, with what resources, wired how.

    source ─▶ perception ─▶ decision ─▶ reaction
                  │   └───────┐   │         │
                  ▼           ▼   ▼         ▼
               memory ◀──── event hub ◀─────┘  (the driver reads the hub)

Several streams run as several such graphs in one cluster. With ``models.encoder`` set, they
share one :class:`SharedEncoder` actor that holds the vision model (on a GPU when the cluster
has one) and batches frames across streams; everything else is per stream, as the reaction
actor answers to one decision actor and reads one memory.

Stages are plain classes; here they become actors with ``ray.remote``. Vigil starts a local
Ray when none is running, or joins the cluster at ``runtime.ray_address``.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from typing import Any

import ray

from memory import MemoryStore
from perception.encoders import CpuFrameEncoder
from perception.encoders.batching import BatchStats
from perception.video import VideoPerception
from runtime.actors.decision import DecisionActor
from runtime.actors.encoder import EncoderInfo, FrameEncoderActor, RemoteFrameEncoder
from runtime.actors.hub import EventHub
from runtime.actors.perception import PerceptionActor
from runtime.actors.reaction import ReactionActor
from runtime.config import VigilConfig
from runtime.stages import (
    ModelPaths,
    build_audio_perception,
    build_clarify,
    build_clip_segmenter,
    build_decision_stage,
    build_reaction_stage,
    build_sinks,
    build_video_perception,
)
from vigil.items import new_id

__all__ = ["SharedEncoder", "StreamGraph", "cpus_needed", "ensure_ray", "shared_video_perception"]


def ensure_ray(address: str | None, *, cpus: float = 0.0) -> bool:
    """Connect to Ray; returns True when this call started a local cluster (to shut it down).

    ``cpus``: what the actors to come ask for in all (see :func:`cpus_needed`), so that a local
    cluster can place every one of them.
    """
    if ray.is_initialized():
        return False
    if address is not None:
        ray.init(address=address, log_to_driver=False)
        return False
    # A private cluster for this process: token authentication guards shared clusters, and
    # logical CPUs above the core count let several light actors share a small machine.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    logical = max(4, os.cpu_count() or 1, math.ceil(cpus))
    ray.init(num_cpus=logical, include_dashboard=False, log_to_driver=False)
    return True


def cpus_needed(config: VigilConfig, streams: int, *, shared_encoder: bool) -> float:
    """Logical CPUs the actors of ``streams`` graphs (and a shared encoder) ask for."""
    rt = config.runtime
    shared = rt.encoder_cpus if shared_encoder else 0.0
    return streams * (rt.perception_cpus + rt.reaction_cpus) + shared


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
class SharedEncoder:
    """The one vision encoder actor that every stream's perception calls."""

    actor: Any
    info: EncoderInfo

    @classmethod
    async def start(cls, config: VigilConfig, paths: ModelPaths) -> SharedEncoder:
        """Load ``paths.encoder`` in an actor with ``runtime.encoder_gpus`` GPUs when the
        cluster has any (at most as many as it has), else on its CPUs."""
        assert paths.encoder is not None  # resolve_model_paths prepared models.encoder
        rt = config.runtime
        gpus = min(rt.encoder_gpus, ray.cluster_resources().get("GPU", 0.0))
        actor = (
            ray.remote(FrameEncoderActor)
            .options(num_cpus=rt.encoder_cpus, num_gpus=gpus)
            .remote(
                paths.encoder,
                max_batch=config.perception.encoder_batch,
                max_wait=config.perception.encoder_max_wait,
            )
        )
        try:
            info = await actor.ready.remote()
        except BaseException:
            ray.kill(actor)
            raise
        return cls(actor, info)

    async def stats(self) -> BatchStats:
        return await self.actor.stats.remote()

    def stop(self) -> None:
        ray.kill(self.actor)


def shared_video_perception(
    config: VigilConfig,
    paths: ModelPaths,
    encoder: SharedEncoder,
    *,
    stream_id: str,
    paced: bool,
) -> VideoPerception:
    """The stream's video stage with its embeddings from the shared encoder; the stage's own
    CPU encoder stays, for the counts, boxes and colours."""
    remote = RemoteFrameEncoder(
        encoder.actor,
        stream_id=stream_id,
        embedding_dim=encoder.info.embedding_dim,
        detectors=CpuFrameEncoder(),
    )
    return build_video_perception(config, paths, paced=paced, encoder=remote)


@dataclass(frozen=True, slots=True)
class StreamGraph:
    """The actor handles of one stream's graph."""

    stream_id: str
    hub: Any
    memory: Any
    reaction: Any
    decision: Any
    perception: Any
    paced: bool = True

    @classmethod
    async def start(
        cls,
        config: VigilConfig,
        paths: ModelPaths,
        *,
        stream_id: str,
        source: str,
        paced: bool,
        encoder: SharedEncoder | None = None,
    ) -> StreamGraph:
        """Create and connect the actors, and wait until every model is loaded.

        ``encoder``: the shared vision encoder to embed frames with (else a ``models.encoder``
        loads inside this stream's perception actor).
        """
        rt = config.runtime
        video = (
            functools.partial(
                shared_video_perception, config, paths, encoder, stream_id=stream_id, paced=paced
            )
            if encoder is not None
            else functools.partial(build_video_perception, config, paths, paced=paced)
        )
        # A stage whose process dies is started again by Ray (its constructor re-run); the
        # driver's Supervisor sets it up again and resumes the stream (runtime/supervisor.py).
        restarts = {"max_restarts": rt.max_restarts}
        hub = ray.remote(EventHub).options(num_cpus=0, **restarts).remote(rt.events)
        if config.memory.persistent:
            # Imported here: LanceDB and the text embedder take seconds to import.
            from runtime.actors.memory import LongTermMemoryActor

            # The session is named here, not in the actor: a memory actor that Ray restarts
            # must go on writing the same session.
            session = config.memory.session or new_id()
            memory = (
                ray.remote(LongTermMemoryActor)
                .options(num_cpus=0, **restarts)
                .remote(config.memory.model_copy(update={"session": session}), stream_id)
            )
        else:
            memory = ray.remote(MemoryStore).options(num_cpus=0, **restarts).remote()
        reaction = (
            ray.remote(ReactionActor)
            .options(num_cpus=rt.reaction_cpus, **restarts, **_accelerator(config))
            .remote(
                functools.partial(build_reaction_stage, config, paths),
                memory=memory,
                hub=hub,
                recall=config.memory.persistent,
                sinks=functools.partial(build_sinks, config),
                clarify=functools.partial(build_clarify, config),
            )
        )
        decision = (
            ray.remote(DecisionActor)
            .options(num_cpus=0, **restarts)
            .remote(
                build_decision_stage(config, video=not source.startswith("mic")),
                reaction=reaction,
                memory=memory,
                hub=hub,
            )
        )
        perception = (
            ray.remote(PerceptionActor)
            .options(num_cpus=rt.perception_cpus, num_gpus=rt.perception_gpus, **restarts)
            .remote(
                stream_id=stream_id,
                source=source,
                paced=paced,
                video=video,
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
        graph = cls(stream_id, hub, memory, reaction, decision, perception, paced)
        try:
            await reaction.connect.remote(decision)
            await reaction.ready.remote()
            await perception.ready.remote()
            if config.reaction.prefill_interval > 0:
                await reaction.watch.remote(stream_id, config.reaction.prefill_interval)
        except BaseException:  # a model that failed to load, or the caller gave up: no leak
            graph.stop()
            raise
        return graph

    def stop(self) -> None:
        """Kill every actor of the graph (what memory held for the run goes with it)."""
        for handle in (self.perception, self.decision, self.reaction, self.memory, self.hub):
            ray.kill(handle)
