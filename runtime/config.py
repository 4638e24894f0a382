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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
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

    llm: str = "qwen2.5-1.5b-instruct"
    asr: str = Field(
        "whisper-base",
        description="Speech recognition: whisper-base (default) or whisper-tiny (lighter).",
    )
    vad: str = "silero-vad"
    voice: str = Field(
        "campplus",
        description="Speaker embeddings: campplus (CAM++, chosen by `python -m bench.speakers`) "
        "or resemblyzer (GE2E).",
    )
    encoder: str | None = Field(
        None,
        description="A transformers vision model folder (saved with save_pretrained) for frame "
        "embeddings; None keeps the CPU encoder's colour-and-shape embedding.",
    )
    cache_dir: Path | None = Field(None, description="Where packaged models are assembled.")


class PerceptionConfig(_Section):
    sample_rate_hz: float = Field(1.0, gt=0, le=30, description="Frames analysed per second.")
    ocr: bool = Field(True, description="Read on-screen text when the picture changes.")
    ocr_min_interval: float = Field(2.0, ge=0, description="Seconds between two OCR passes.")
    scene_threshold: float = Field(0.35, gt=0, lt=2)
    vad_threshold: float = Field(0.5, gt=0, lt=1)
    min_silence: float = Field(0.4, gt=0, description="Silence (s) that ends an utterance.")
    asr_threads: int = Field(1, ge=1)
    partial_interval: float | None = Field(
        2.0, gt=0, description="Seconds between partial transcripts (None: no partials)."
    )
    speakers: bool = Field(True, description="Tell speakers apart by voice and learn names.")
    speaker_threshold: float | None = Field(
        None, gt=-1, lt=1, description="Voice similarity to join (None: the voice model's own)."
    )
    clip_mode: Literal["scene", "uniform"] = "scene"
    clip_frames: int = Field(8, ge=1, description="uniform: analysed frames per clip.")
    clip_min_seconds: float = Field(2.0, ge=0)
    clip_max_seconds: float = Field(30.0, gt=0)
    encoder_batch: int = Field(
        8, ge=1, description="models.encoder: most frames (from all streams) per forward pass."
    )
    encoder_max_wait: float = Field(
        0.02, ge=0, description="models.encoder: seconds a batch waits for frames of other streams."
    )


class DecisionConfig(_Section):
    barge_in: bool = True
    release: int = Field(2, ge=1, description="Quiet observations before an instruction re-arms.")
    policy: Literal["rules", "head"] = Field(
        "rules", description="Standing instructions: parsed rules, or the trained respond head."
    )
    head: Path | None = Field(
        None, description="head: weights file from `vigil eval train-head` (default: packaged)."
    )
    head_threshold: float | None = Field(
        None, gt=0, lt=1, description="head: respond at this probability (default: calibrated)."
    )
    cooldown: float = Field(
        5.0, ge=0, description="Seconds an instruction stays quiet after firing."
    )
    agent_name: str = Field("Vigil", min_length=1, description="The name people call the agent.")
    addressing: Literal["auto", "name", "always"] = Field(
        "auto",
        description="auto: answer unless someone else is called by name; name: only when the "
        "agent is named or followed up; always: every spoken question.",
    )
    follow_up: float = Field(15.0, ge=0, description="Seconds after an answer that need no name.")
    understanding: Literal["auto", "model", "rules"] = Field(
        "auto",
        description="Who reads standing instructions: auto (the rules, the model when no rule "
        "fits), model (the model first), rules (the model compiles nothing; it still checks an "
        "instruction that no condition fits).",
    )
    check_interval: float = Field(
        5.0,
        gt=0,
        description="Media seconds between two model checks of an instruction no condition fits.",
    )


class ReactionConfig(_Section):
    """How answers are generated, and by which backend.

    ``llama_cpp`` runs ``models.llm`` in process (the CPU default); ``openai`` streams from any
    OpenAI-compatible endpoint at ``base_url``; ``vllm`` runs vLLM's engine inside the reaction
    actor, on ``model`` (or ``models.llm``).
    """

    backend: Literal["llama_cpp", "openai", "vllm"] = "llama_cpp"
    base_url: str | None = Field(
        None, description="openai: the endpoint up to /chat/completions, e.g. http://host:8000/v1."
    )
    api_key: SecretStr | None = Field(
        None,
        description="openai: set VIGIL_REACTION__API_KEY (or OPENAI_API_KEY), never in the file.",
    )
    model: str | None = Field(
        None,
        description="openai: the served model (default: the server's first); vllm: a model "
        "name or folder (default: models.llm).",
    )
    concurrency: int = Field(4, ge=1, description="openai, vllm: answers generated at once.")
    connect_timeout: float = Field(5.0, gt=0, description="openai: seconds to reach the server.")
    tensor_parallel: int = Field(
        1,
        ge=1,
        description="vllm: GPUs one engine spans (tensor parallelism), all on one node: the "
        "model's actor asks Ray for that many GPUs at once, and vLLM's workers are spawned "
        "processes inside it.",
    )
    frames: int = Field(
        0,
        ge=0,
        le=32,
        description="openai, vllm: the newest analysed frames shown with each question to a "
        "vision-language model (openai: JPEG image parts, each after its media second). 0 "
        "(the default) sends text only, since a text-only model's server fails on images; "
        "about 4 suits a vision-language model (vllm serve, llama.cpp's server with --mmproj, "
        "hosted APIs, or the vllm backend on a VL model).",
    )
    frame_max_side: int = Field(
        512,
        ge=32,
        le=4096,
        description="openai, vllm: pixels on a shown frame's longest side (larger ones are "
        "shrunk); a frame's prompt tokens grow with its area.",
    )
    retries: int = Field(2, ge=0, description="Retries of a failed answer before its first token.")
    retry_backoff: float = Field(
        0.25, ge=0, description="Seconds before the first retry; each later one waits twice that."
    )
    gpu_memory_utilization: float = Field(
        0.9, gt=0, le=1, description="vllm: share of accelerator memory (RAM on CPU) it may use."
    )
    max_tokens: int = Field(48, ge=1, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    context_tokens: int = Field(2048, ge=256)
    budget_tokens: int = Field(700, ge=64, description="Prompt tokens given to memory.")
    threads: int = Field(2, ge=1)
    timeout: float = Field(60.0, gt=0, description="Seconds before a generation is abandoned.")
    shared: bool = Field(
        True,
        description="llama_cpp, vllm: one model for every stream of vigil serve (and of vigil run "
        "with several sources), answering in turn, rather than a copy per stream.",
    )
    speak: bool = Field(False, description="Say answers aloud (piper voice, sound card).")
    websocket_port: int | None = Field(
        None, ge=0, le=65535, description="Serve answers to WebSocket clients on this port."
    )
    prefill_step: int = Field(
        96, ge=8, description="Most new prompt tokens one prefill reads (an answer waits for it)."
    )
    prefill_interval: float = Field(
        0.2, ge=0, description="Seconds between checks for news to prefill (0: never prefill)."
    )
    choice_method: Literal["letter", "text", "generate"] = Field(
        "letter",
        description="Questions with options: the likeliest letter (letter), the likeliest "
        "option text (text), or free text (generate).",
    )
    support_weight: float = Field(
        1.0,
        ge=0,
        description="Log-probability an option gains when what perception recorded backs it "
        "up (0: the model alone decides).",
    )

    @model_validator(mode="after")
    def _endpoint_given(self) -> ReactionConfig:
        if self.backend == "openai" and not self.base_url:
            raise ValueError("reaction.backend 'openai' needs reaction.base_url")
        return self


class MemoryConfig(_Section):
    """Long-term memory (LanceDB on disk). Off, a run keeps only its in-process working memory;
    on, every kept item is also committed to the store, questions recall from earlier sessions
    of the tenant, and a session summary is written when the run ends."""

    persistent: bool = Field(False, description="Keep memory across runs in `path`.")
    path: Path | None = Field(None, description="Store folder; default <cache_dir>/memory.")
    tenant: str = Field("default", description="Tenant every read and write is scoped to.")
    session: str | None = Field(None, description="Session id; default: a new one per run.")
    k_min: int = Field(4, ge=1)
    k_max: int = Field(28, ge=1)
    min_similarity: float = Field(0.2, ge=-1, le=1)
    text_weight: float = Field(0.3, ge=0)
    recency_weight: float = Field(0.1, ge=0)
    recency_half_life_s: float = Field(604800.0, gt=0)
    index_threshold: int = Field(10_000, ge=256, description="Rows before the ANN index is built.")
    nprobes: int = Field(
        30, ge=1, description="ANN partitions searched a query: more find more, more slowly."
    )
    compact_every: int = Field(512, ge=1, description="Writes between compactions.")
    recall_lines: int = Field(4, ge=0, description="Recalled items put in a prompt at most.")


Stage = Literal["perception", "decision", "reaction", "memory", "hub", "encoder", "llm"]
"""The actors that ``runtime.resources`` places."""


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
    perception_cpus: float = Field(1.0, ge=0, description="CPUs per stream's perception actor.")
    perception_gpus: float = Field(0.0, ge=0, description="GPUs per stream's perception actor.")
    perception_nice: int = Field(
        0,
        ge=0,
        le=19,
        description="CPU priority of perception below the rest (Linux nice): with more streams "
        "than cores, frames are dropped rather than answers kept waiting.",
    )
    reaction_cpus: float = Field(1.0, ge=0)
    encoder_cpus: float = Field(1.0, ge=0, description="CPUs of the shared vision encoder actor.")
    max_restarts: int = Field(
        3,
        ge=0,
        description="Times Ray restarts a stage actor whose process died (killed, out of "
        "memory); the stream resumes at its live edge. 0: a dead stage ends the stream.",
    )
    supervise_interval_s: float = Field(
        1.0, gt=0, description="Seconds between checks for stage actors that were restarted."
    )
    encoder_gpus: float = Field(
        1.0, ge=0, description="GPUs of the shared vision encoder actor when the cluster has any."
    )
    resources: dict[Stage, dict[str, float]] = Field(
        default_factory=dict,
        description="Custom Ray resources each stage's actors ask for, by stage, to place "
        "them on the nodes that offer them (`ray start --resources '{\"gpu_node\": 1}'`): "
        'e.g. {"perception": {"perception_node": 0.01}, "llm": {"gpu_node": 1}}. Stages: '
        "perception, decision, reaction, memory, hub, encoder (the shared vision encoder), "
        "llm (the shared language model).",
    )

    @model_validator(mode="after")
    def _positive_resources(self) -> RuntimeConfig:
        for stage, wanted in self.resources.items():
            if any(amount <= 0 for amount in wanted.values()):
                raise ValueError(f"runtime.resources.{stage}: amounts must be above 0")
        return self


class ServiceConfig(_Section):
    """``vigil serve``: the HTTP/WebSocket service (see README.md, section Service)."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535)
    tokens: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='Bearer token -> tenant, e.g. VIGIL_SERVICE__TOKENS=\'{"tok-a": "a"}\'.',
    )
    allowed_paths: list[Path] = Field(
        default_factory=list, description="Folders whose files a session may play."
    )
    allowed_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes a session may play (rtsp://cams.local/, https://host/v/).",
    )
    allow_devices: bool = Field(False, description="Let sessions open this server's cameras.")
    max_request_bytes: int = Field(
        64 * 1024, ge=1024, description="Largest JSON request body (413 beyond)."
    )
    max_message_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest ingest message: a JPEG or a PCM block."
    )
    max_text_chars: int = Field(2000, ge=1, description="Longest question or instruction.")
    requests_per_minute: int = Field(600, ge=1, description="Per tenant, beyond: 429.")
    max_sessions: int = Field(16, ge=1, description="Open sessions per tenant.")
    max_streams: int = Field(4, ge=1, description="Playing streams per tenant.")
    disconnect_grace_s: float = Field(
        10.0, ge=0, description="A live stream whose client left ends after this long."
    )
    events_kept: int = Field(2000, ge=10, description="Events a session keeps for late readers.")
    ping_interval_s: float = Field(
        20.0, gt=0, description="How often the service pings each WebSocket client."
    )
    ping_timeout_s: float = Field(
        60.0,
        gt=0,
        description="A WebSocket client that answers no ping for this long is dropped (generous: "
        "a busy host can delay a pong by many seconds, and a camera must not be cut for it).",
    )


class ClarifyConfig(_Section):
    """The clarify loop (reaction.clarify): when a typed or spoken question could mean several
    things, ask the person before answering."""

    enabled: bool = Field(True, description="Ask back when a question is ambiguous.")
    typed: bool = Field(
        True, description="Typed questions may be asked back (`vigil run` turns it off)."
    )
    documents: list[Path] = Field(
        default_factory=list, description="Files (.jsonl, .txt, .md) to index and search."
    )
    index_dir: Path | None = Field(None, description="Document index; default <cache_dir>/docs.")
    web_url: str | None = Field(
        None, description="A SearXNG-style JSON search API; off (no web search) when unset."
    )
    web_key: SecretStr | None = Field(None, description="Bearer token for web_url.")
    max_rounds: int = Field(10, ge=1, le=30, description="Rounds of search/ask/answer at most.")
    max_asks: int = Field(4, ge=0, description="Questions put to the person at most.")
    min_asks: int = Field(0, ge=0, description="Questions asked before any answer (forced).")
    ask_timeout: float = Field(60.0, gt=0, description="Seconds to wait for a reply.")
    margin: float = Field(
        0.2, ge=0, le=1, description="Similarity below the best at which a target is plausible."
    )


class VigilConfig(BaseSettings):
    """Every setting of a run. See README.md, section Configuration."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    models: ModelsConfig = ModelsConfig()
    perception: PerceptionConfig = PerceptionConfig()
    decision: DecisionConfig = DecisionConfig()
    reaction: ReactionConfig = ReactionConfig()
    memory: MemoryConfig = MemoryConfig()
    runtime: RuntimeConfig = RuntimeConfig()
    service: ServiceConfig = ServiceConfig()
    clarify: ClarifyConfig = ClarifyConfig()

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
