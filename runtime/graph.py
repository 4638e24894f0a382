"""The stage graph of one stream on Ray: which actors exist, with what resources, wired how.

    source ─▶ perception ─▶ decision ─▶ reaction
                  │   └───────┐   │         │
                  ▼           ▼   ▼         ▼
               memory ◀──── event hub ◀─────┘  (the driver reads the hub)

Several streams run as several such graphs in one cluster. With ``models.encoder`` set, they
share one :class:`SharedEncoder` actor that holds the vision model (on a GPU when the cluster
has one) and batches frames across streams. With ``reaction.shared`` (the default), they share
one :class:`SharedLanguageModel` actor that holds the language model and answers them in
turn. Everything else is per stream, as the reaction actor answers to one decision actor and
reads one memory.

Stages are plain classes; here they become actors with ``ray.remote``. Vigil starts a local
Ray when none is running, or joins the cluster at ``runtime.ray_address``.
"""

from __future__ import annotations

import functools
import logging
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
from runtime.actors.llm import LanguageModelActor, ModelInfo, RemoteBackend
from runtime.actors.perception import PerceptionActor
from runtime.actors.reaction import ReactionActor
from runtime.config import Stage, VigilConfig
from runtime.stages import (
    ModelPaths,
    build_audio_perception,
    build_backend,
    build_clarify,
    build_clip_segmenter,
    build_decision_stage,
    build_reaction_stage,
    build_sinks,
    build_video_perception,
)
from vigil.items import new_id

__all__ = [
    "SharedEncoder",
    "SharedLanguageModel",
    "StreamGraph",
    "cpus_needed",
    "ensure_ray",
    "shared_video_perception",
    "shares_llm",
]

log = logging.getLogger(__name__)


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
    # Ray starts workers at nice 15, below the driver; here the workers do the interactive
    # work (answers) and the driver only relays, so they start level with it, and the stages'
    # priorities among themselves are Vigil's to set (runtime.perception_nice).
    os.environ.setdefault("RAY_worker_niceness", "0")
    logical = max(4, os.cpu_count() or 1, math.ceil(cpus))
    ray.init(num_cpus=logical, include_dashboard=False, log_to_driver=False)
    return True


def cpus_needed(
    config: VigilConfig, streams: int, *, shared_encoder: bool, shared_llm: bool = False
) -> float:
    """Logical CPUs the actors of ``streams`` graphs (and a shared encoder and language model)
    ask for."""
    rt = config.runtime
    encoder = rt.encoder_cpus if shared_encoder else 0.0
    reaction = rt.reaction_cpus * (1 if shared_llm else streams)
    return streams * rt.perception_cpus + reaction + encoder


def shares_llm(config: VigilConfig) -> bool:
    """Whether several streams share one language model: ``reaction.shared``, with a model
    loaded in process (a server behind ``openai`` already serves every stream)."""
    return config.reaction.shared and config.reaction.backend in ("llama_cpp", "vllm")


def _accelerator(config: VigilConfig) -> dict[str, Any]:
    """Actor options for a backend that runs on a GPU (vLLM: its engine lives in the actor,
    and its workers must be spawned, not forked, inside a Ray worker)."""
    if config.reaction.backend != "vllm":
        return {}
    return {
        "num_gpus": config.reaction.tensor_parallel,  # one actor: all on one node
        "runtime_env": {"env_vars": {"VLLM_WORKER_MULTIPROC_METHOD": "spawn"}},
    }


def _gpus(count: float) -> dict[str, Any]:
    """Actor options for ``count`` GPUs. With none, the GPUs are hidden from the actor: Ray
    leaves every GPU visible to an actor given none, and torch would use one uncounted (a
    vision encoder on the GPU that vLLM was given)."""
    if count:
        return {"num_gpus": count}
    return {"num_gpus": 0, "runtime_env": {"env_vars": {"CUDA_VISIBLE_DEVICES": ""}}}


def _placed(config: VigilConfig, stage: Stage) -> dict[str, Any]:
    """Actor options that place ``stage`` on the nodes offering its custom resources."""
    wanted = config.runtime.resources.get(stage)
    if not wanted:
        return {}
    offered = ray.cluster_resources() if ray.is_initialized() else {}
    if missing := [name for name, amount in wanted.items() if offered.get(name, 0.0) < amount]:
        # Not an error: an autoscaling cluster adds such nodes on demand.
        log.warning(
            "no node offers %s for runtime.resources.%s yet: its actor waits until one does "
            "(start one with `ray start --resources`)",
            ", ".join(missing),
            stage,
        )
    return {"resources": dict(wanted)}


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
            .options(num_cpus=rt.encoder_cpus, **_gpus(gpus), **_placed(config, "encoder"))
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


@dataclass(frozen=True, slots=True)
class SharedLanguageModel:
    """The one language model actor that every stream's reaction calls."""

    actor: Any
    info: ModelInfo
    timeout: float

    @classmethod
    async def start(cls, config: VigilConfig, paths: ModelPaths) -> SharedLanguageModel:
        """Load the configured backend in an actor with the reaction's CPUs (and a GPU for
        vLLM); Ray restarts it if its process dies."""
        rt = config.runtime
        actor = (
            ray.remote(LanguageModelActor)
            .options(
                num_cpus=rt.reaction_cpus,
                max_restarts=rt.max_restarts,
                **_accelerator(config),
                **_placed(config, "llm"),
            )
            .remote(functools.partial(build_backend, config, paths))
        )
        try:
            info = await actor.ready.remote()
        except BaseException:
            ray.kill(actor)
            raise
        # Waiting behind every other stream's answers counts here; each generation's own
        # reaction.timeout is kept in the actor, from its turn.
        return cls(actor, info, timeout=config.reaction.timeout * WAITING_TURNS)

    def backend(self, stream_id: str) -> functools.partial[RemoteBackend]:
        """What builds one stream's backend (in its reaction actor)."""
        return functools.partial(
            RemoteBackend, self.actor, self.info, stream_id=stream_id, timeout=self.timeout
        )

    def stop(self) -> None:
        ray.kill(self.actor)


WAITING_TURNS = 10
"""How many generations' time a stream's answer may wait for the shared model in all."""


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
        llm: SharedLanguageModel | None = None,
    ) -> StreamGraph:
        """Create and connect the actors, and wait until every model is loaded.

        ``encoder``: the shared vision encoder to embed frames with (else a ``models.encoder``
        loads inside this stream's perception actor); ``llm``: the shared language model to
        answer with (else the reaction actor loads its own).
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
        hub = (
            ray.remote(EventHub)
            .options(num_cpus=0, **restarts, **_placed(config, "hub"))
            .remote(rt.events)
        )
        if config.memory.persistent:
            # Imported here: LanceDB and the text embedder take seconds to import.
            from runtime.actors.memory import LongTermMemoryActor

            # The session is named here, not in the actor: a memory actor that Ray restarts
            # must go on writing the same session.
            session = config.memory.session or new_id()
            memory = (
                ray.remote(LongTermMemoryActor)
                .options(num_cpus=0, **restarts, **_placed(config, "memory"))
                .remote(config.memory.model_copy(update={"session": session}), stream_id)
            )
        else:
            memory = (
                ray.remote(MemoryStore)
                .options(num_cpus=0, **restarts, **_placed(config, "memory"))
                .remote()
            )
        own_model = {"num_cpus": rt.reaction_cpus, **_accelerator(config)}
        reaction = (
            ray.remote(ReactionActor)
            .options(
                **({"num_cpus": 0} if llm else own_model), **restarts, **_placed(config, "reaction")
            )
            .remote(
                functools.partial(
                    build_reaction_stage, config, paths, llm.backend(stream_id) if llm else None
                ),
                memory=memory,
                hub=hub,
                recall=config.memory.persistent,
                sinks=functools.partial(build_sinks, config),
                clarify=functools.partial(build_clarify, config),
                frames=config.reaction.frames > 0,
            )
        )
        decision = (
            ray.remote(DecisionActor)
            .options(num_cpus=0, **restarts, **_placed(config, "decision"))
            .remote(
                build_decision_stage(config, video=not source.startswith("mic")),
                reaction=reaction,
                memory=memory,
                hub=hub,
            )
        )
        perception = (
            ray.remote(PerceptionActor)
            .options(
                num_cpus=rt.perception_cpus,
                **_gpus(rt.perception_gpus),
                **restarts,
                **_placed(config, "perception"),
                # Each new stream's perception to the node least used, not packed onto the
                # first one with room: streams on one node share its cores.
                scheduling_strategy="SPREAD",
            )
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
                nice=rt.perception_nice,
                keep_frames=config.reaction.frames,
                frame_max_side=config.reaction.frame_max_side,
            )
        )
        graph = cls(stream_id, hub, memory, reaction, decision, perception, paced)
        try:
            await reaction.connect.remote(decision, perception)
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
