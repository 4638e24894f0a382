"""From configuration to stage objects: the one place that knows which class serves what.

The factories run inside the actors (the graph passes them as ``functools.partial``), so models
load in the process that uses them. Model settings are resolved to paths first, in the driver,
so that a missing or corrupt model stops the run before any actor starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decision import DecisionOptions, DecisionStage
from perception.asr import Transcriber
from perception.audio import AudioOptions, AudioPerception
from perception.encoders.cpu import CpuFrameEncoder
from perception.ocr import TextReader
from perception.video import VideoOptions, VideoPerception
from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.engine import ReactionOptions, ReactionStage
from runtime.config import VigilConfig
from runtime.models import registry_for

__all__ = [
    "ModelPaths",
    "build_audio_perception",
    "build_decision_stage",
    "build_reaction_stage",
    "build_video_perception",
    "resolve_model_paths",
]


@dataclass(frozen=True, slots=True)
class ModelPaths:
    """Where each configured model lies on this machine."""

    llm: Path
    asr: Path
    vad: Path


def resolve_model_paths(config: VigilConfig) -> ModelPaths:
    """Prepare (assemble, verify) every configured model; raises ModelError with a hint."""
    registry = registry_for(config)
    models = config.models
    return ModelPaths(
        llm=registry.path(models.llm), asr=registry.path(models.asr), vad=registry.path(models.vad)
    )


def build_video_perception(config: VigilConfig, paths: ModelPaths) -> VideoPerception:
    options = config.perception
    return VideoPerception(
        CpuFrameEncoder(),
        TextReader() if options.ocr else None,
        VideoOptions(
            sample_rate_hz=options.sample_rate_hz,
            ocr_min_interval=options.ocr_min_interval,
            scene_threshold=options.scene_threshold,
        ),
    )


def build_audio_perception(config: VigilConfig, paths: ModelPaths) -> AudioPerception:
    options = config.perception
    return AudioPerception(
        Transcriber(paths.asr, cpu_threads=options.asr_threads),
        paths.vad,
        AudioOptions(threshold=options.vad_threshold, min_silence=options.min_silence),
    )


def build_decision_stage(config: VigilConfig, *, video: bool = True) -> DecisionStage:
    """``video``: whether the stream has pictures (typed questions then wait for a fresh one)."""
    return DecisionStage(
        DecisionOptions(
            video=video, barge_in=config.decision.barge_in, release=config.decision.release
        )
    )


def build_reaction_stage(config: VigilConfig, paths: ModelPaths) -> ReactionStage:
    options = config.reaction
    backend = LlamaCppBackend(
        paths.llm, n_ctx=options.context_tokens, n_threads=options.threads, timeout=options.timeout
    )
    return ReactionStage(
        backend,
        ReactionOptions(
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            budget_tokens=options.budget_tokens,
        ),
    )
