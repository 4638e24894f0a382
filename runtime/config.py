"""Vigil's configuration: one validated file, environment overrides, documented defaults.

Precedence, highest first: keyword arguments (the CLI's flags), environment variables
(``VIGIL_<SECTION>__<KEY>``, e.g. ``VIGIL_REACTION__MAX_TOKENS=64``), the TOML file given by
``--config`` or ``VIGIL_CONFIG``, then the defaults below. Every model setting accepts a
registered model name (``vigil models list``) or a local path.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from vigil.errors import ConfigError

__all__ = ["VigilConfig", "load_config"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelsConfig(_Section):
    """Which model serves each need: a registered name or a local path."""

    llm: str = "qwen2.5-0.5b-instruct"
    asr: str = "whisper-tiny"
    vad: str = "silero-vad"
    cache_dir: Path | None = Field(None, description="Where packaged models are assembled.")


class PerceptionConfig(_Section):
    sample_rate_hz: float = Field(1.0, gt=0, le=30, description="Frames analysed per second.")
    ocr: bool = Field(True, description="Read on-screen text when the picture changes.")
    ocr_min_interval: float = Field(2.0, ge=0, description="Seconds between two OCR passes.")
    scene_threshold: float = Field(0.35, gt=0, lt=2)
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    min_silence: float = Field(0.4, gt=0, description="Silence (s) that ends an utterance.")
    asr_threads: int = Field(1, ge=1)


class DecisionConfig(_Section):
    barge_in: bool = True
    release: int = Field(2, ge=1, description="Quiet observations before an instruction re-arms.")


class ReactionConfig(_Section):
    backend: Literal["llama_cpp"] = "llama_cpp"
    max_tokens: int = Field(48, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    context_tokens: int = Field(2048, ge=256)
    budget_tokens: int = Field(700, ge=64, description="Prompt tokens given to memory.")
    threads: int = Field(2, ge=1)
    timeout: float = Field(60.0, gt=0, description="Seconds before a generation is abandoned.")
    prefill_interval: float = Field(
        0.2, ge=0, description="Seconds between checks for news to prefill (0: never prefill)."
    )


class RuntimeConfig(_Section):
    ray_address: str | None = Field(
        None, description="Join this Ray cluster instead of a local one."
    )
    video_queue: int = Field(
        2, ge=1, description="Sampled frames waiting for analysis (drop oldest)."
    )
    audio_queue_seconds: float = Field(
        30.0, gt=0, description="Audio buffered before backpressure."
    )
    in_flight: int = Field(64, ge=1, description="Unacknowledged items per hop before waiting.")
    events: int = Field(
        1000, ge=10, description="Events held for the console before the oldest go."
    )
    perception_cpus: float = Field(1.0, ge=0)
    reaction_cpus: float = Field(1.0, ge=0)


class VigilConfig(BaseSettings):
    """Every setting of a run. See README.md, section Configuration."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    models: ModelsConfig = ModelsConfig()
    perception: PerceptionConfig = PerceptionConfig()
    decision: DecisionConfig = DecisionConfig()
    reaction: ReactionConfig = ReactionConfig()
    runtime: RuntimeConfig = RuntimeConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | None = None, **overrides: Any) -> VigilConfig:
    """The validated configuration: file, then environment, then ``overrides`` on top.

    ``overrides`` are nested dicts per section, e.g. ``{"runtime": {"ray_address": "auto"}}``.
    """
    path = path or (Path(os.environ["VIGIL_CONFIG"]) if os.environ.get("VIGIL_CONFIG") else None)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as error:
            raise ConfigError(f"configuration file {path} not found") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"configuration file {path} is not valid TOML: {error}") from error
    try:
        env_data = EnvSettingsSource(VigilConfig)()
        return VigilConfig(**_merge(_merge(data, env_data), overrides))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"invalid setting {where}: {first['msg']}",
            hint="see README.md, section Configuration",
        ) from error
