"""From configuration to stage objects: the one place that knows which class serves what.

The factories run inside the actors (the graph passes them as ``functools.partial``), so models
load in the process that uses them. Model settings are resolved to paths first, in the driver,
so that a missing or corrupt model stops the run before any actor starts.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decision import (
    DecisionOptions,
    DecisionStage,
    HeadPolicy,
    RespondHead,
    RulePolicy,
    WatchPolicy,
)
from decision.ambiguity import AmbiguityOptions
from memory.embeddings import TextEmbedder
from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from perception.clips import ClipOptions, ClipSegmenter
from perception.encoders import CpuFrameEncoder, FrameEncoder, TorchFrameEncoder
from perception.ocr import TextReader
from perception.speakers import SpeakerOptions, SpeakerRegistry, VoiceEmbedder
from perception.video import VideoOptions, VideoPerception
from reaction.backends.base import Backend
from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.clarify import ClarifyOptions, LiveClarify
from reaction.engine import ReactionOptions, ReactionStage
from reaction.search import Searcher
from reaction.sinks import LogSink, Sink, SpeechSink, WebSocketSink
from runtime.config import VigilConfig
from runtime.models import registry_for
from vigil.cache import cache_dir

__all__ = [
    "ModelPaths",
    "build_audio_perception",
    "build_backend",
    "build_clarify",
    "build_clip_segmenter",
    "build_decision_stage",
    "build_reaction_stage",
    "build_searchers",
    "build_sinks",
    "build_video_perception",
    "resolve_model_paths",
]


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """Where each configured model lies on this machine."""

    llm: Path | None  # None: the backend serves its own model (openai, vllm with a model)
    asr: Path
    vad: Path
    voice: Path | None  # None: speakers are not told apart
    encoder: Path | None = None  # a vision model folder; None: the CPU encoder alone


def resolve_model_paths(config: VigilConfig) -> ModelPaths:
    """Prepare (assemble, verify) every configured model; raises ModelError with a hint."""
    registry = registry_for(config)
    models = config.models
    return ModelPaths(
        llm=registry.path(models.llm) if _uses_local_llm(config) else None,
        asr=registry.path(models.asr),
        vad=registry.path(models.vad),
        voice=registry.path(models.voice) if config.perception.speakers else None,
        encoder=registry.path(models.encoder) if models.encoder else None,
    )


def _uses_local_llm(config: VigilConfig) -> bool:
    """Whether ``models.llm`` is loaded here (so worth assembling and checking first)."""
    reaction = config.reaction
    return reaction.backend == "llama_cpp" or (reaction.backend == "vllm" and not reaction.model)


def build_video_perception(
    config: VigilConfig,
    paths: ModelPaths,
    *,
    paced: bool = True,
    encoder: FrameEncoder | None = None,
) -> VideoPerception:
    """The video stage; unpaced, it waits for OCR so that text keeps its live media timing.

    ``encoder`` replaces the one ``paths`` names (the graph passes the shared encoder's facade).
    """
    options = config.perception
    if encoder is None:
        encoder = CpuFrameEncoder()
        if paths.encoder is not None:
            encoder = TorchFrameEncoder(paths.encoder)
            encoder.load()
    return VideoPerception(
        encoder,
        TextReader() if options.ocr else None,
        VideoOptions(
            sample_rate_hz=options.sample_rate_hz,
            ocr_min_interval=options.ocr_min_interval,
            scene_threshold=options.scene_threshold,
            settle_ocr=not paced,
        ),
    )


def build_audio_perception(config: VigilConfig, paths: ModelPaths) -> AudioPerception:
    options = config.perception
    return AudioPerception(
        Transcriber(paths.asr, cpu_threads=options.asr_threads),
        paths.vad,
        AudioOptions(
            threshold=options.vad_threshold,
            min_silence=options.min_silence,
            partial_interval=options.partial_interval,
        ),
        voices=VoiceEmbedder(paths.voice) if paths.voice is not None else None,
        speakers=SpeakerRegistry(SpeakerOptions(threshold=options.speaker_threshold)),
    )


def build_clip_segmenter(config: VigilConfig) -> ClipSegmenter:
    options = config.perception
    return ClipSegmenter(
        ClipOptions(
            mode=options.clip_mode,
            frames=options.clip_frames,
            min_seconds=options.clip_min_seconds,
            max_seconds=options.clip_max_seconds,
        )
    )


def build_decision_stage(config: VigilConfig, *, video: bool = True) -> DecisionStage:
    """``video``: whether the stream has pictures (typed questions then wait for a fresh one)."""
    options = config.decision
    policy: WatchPolicy = RulePolicy(options.release)
    if options.policy == "head":
        head = RespondHead.load(options.head, threshold=options.head_threshold)
        policy = HeadPolicy(head, options.release)
    return DecisionStage(
        DecisionOptions(
            video=video,
            barge_in=options.barge_in,
            cooldown=options.cooldown,
            agent_name=options.agent_name,
            addressing=options.addressing,
            follow_up=options.follow_up,
            understanding=options.understanding,
            check_interval=options.check_interval,
        ),
        policy,
    )


def _tensor_parallel(gpus: int) -> dict[str, Any]:
    """vLLM's engine options for ``gpus`` GPUs of the actor it runs in: its workers as
    processes of that actor (vLLM's Ray executor would look for a placement group that the
    engine's own subprocess cannot see)."""
    if gpus == 1:
        return {}
    return {"tensor_parallel_size": gpus, "distributed_executor_backend": "mp"}


def build_backend(config: VigilConfig, paths: ModelPaths) -> Backend:
    """The configured backend; imports only its own client library (vLLM weighs gigabytes)."""
    options = config.reaction
    if options.backend == "openai":
        from reaction.backends.openai import OpenAIBackend

        key = options.api_key.get_secret_value() if options.api_key else None
        return OpenAIBackend(
            options.base_url or "",
            model=options.model,
            api_key=key or os.environ.get("OPENAI_API_KEY"),
            concurrency=options.concurrency,
            timeout=options.timeout,
            connect_timeout=options.connect_timeout,
            retries=options.retries,
            backoff=options.retry_backoff,
            frames=options.frames,
            frame_max_side=options.frame_max_side,
        )
    if options.backend == "vllm":
        from reaction.backends.vllm import VllmBackend

        return VllmBackend(
            options.model or str(paths.llm),  # one of them is set: see _uses_local_llm
            max_model_len=options.context_tokens,
            gpu_memory_utilization=options.gpu_memory_utilization,
            concurrency=options.concurrency,
            timeout=options.timeout,
            retries=options.retries,
            backoff=options.retry_backoff,
            engine_options=_tensor_parallel(options.tensor_parallel),
        )
    assert paths.llm is not None  # resolve_model_paths prepares it for llama_cpp
    return LlamaCppBackend(
        paths.llm,
        n_ctx=options.context_tokens,
        n_threads=options.threads,
        timeout=options.timeout,
        retries=options.retries,
        backoff=options.retry_backoff,
    )


def build_sinks(config: VigilConfig) -> list[Sink]:
    """Where answers go besides the console: always the log; a voice and WebSocket clients
    when configured."""
    options = config.reaction
    sinks: list[Sink] = [LogSink()]
    if options.speak:
        sinks.append(SpeechSink())
    if options.websocket_port is not None:
        sinks.append(WebSocketSink(port=options.websocket_port))
    return sinks


def build_searchers(config: VigilConfig, embedder: TextEmbedder | None = None) -> list[Searcher]:
    """What the clarify loop searches besides the session's memory: the document index (with
    ``clarify.documents`` added to it) when it holds any, and a web search API when one is
    configured."""
    from reaction.documents import DocumentIndex
    from reaction.search import WebSearch

    options = config.clarify
    embedder = embedder or TextEmbedder()
    root = options.index_dir or cache_dir() / "docs"
    index = DocumentIndex(root, embedder)
    index.add_files(options.documents)
    searchers: list[Searcher] = [index] if len(index) else []
    if options.web_url:
        key = options.web_key.get_secret_value() if options.web_key else ""
        searchers.append(WebSearch(options.web_url, embedder, key=key))
    return searchers


def build_clarify(config: VigilConfig) -> LiveClarify | None:
    """The clarify loop as a running session uses it (None when ``clarify.enabled`` is off)."""
    options = config.clarify
    if not options.enabled:
        return None
    return LiveClarify(
        options=ClarifyOptions(
            max_rounds=options.max_rounds,
            max_asks=options.max_asks,
            min_asks=options.min_asks,
            ambiguity=AmbiguityOptions(margin=options.margin),
        ),
        ask_timeout=options.ask_timeout,
        typed=options.typed,
        searchers=functools.partial(build_searchers, config),
    )


def build_reaction_stage(
    config: VigilConfig, paths: ModelPaths, backend: Callable[[], Backend] | None = None
) -> ReactionStage:
    """The reaction stage, on ``backend`` (a model shared by several streams) or else on the
    configured backend of its own."""
    options = config.reaction
    return ReactionStage(
        backend() if backend is not None else build_backend(config, paths),
        ReactionOptions(
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            budget_tokens=options.budget_tokens,
            prefill_step=options.prefill_step,
            choice_method=options.choice_method,
            support_weight=options.support_weight,
        ),
    )
