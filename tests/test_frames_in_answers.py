"""A stream whose answers show the newest frames (``reaction.frames``): the question asked of an
OpenAI-compatible server arrives with perception's latest frames as timed image parts.

The packaged model reads text only, and no vision-language model ships in a package, so the
real llama.cpp server refuses the images (see tests/test_openai_backend.py); what is checked is
the request it received, read on the way by a recording proxy, and that the refusal reaches
the person as a failed answer with what to do, while the stream plays to its end.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaluation.demo import Overlay, build_clip
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.session import run_stream
from runtime.stages import ModelPaths
from tests.fault_proxy import FaultProxy
from tests.llama_server import LlamaServer

pytestmark = pytest.mark.slow

DURATION = 8.0
ASKED_AT = 6.0
QUESTION = "What colour is the sign?"


@pytest.fixture(scope="module")
def server(model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with LlamaServer(model_paths.llm, log) as url:
        yield url


def test_an_answer_shows_the_newest_frames_to_the_model(
    ray_cluster: None, model_paths: ModelPaths, server: str, tmp_path: Path
) -> None:
    clip = build_clip(
        sample_video("vtest.avi"),
        tmp_path / "sign.mp4",
        start=30.0,
        duration=DURATION,
        overlays=[Overlay(text="EXIT", t0=0.0, t1=DURATION, position="top")],
    )
    proxy = FaultProxy(server.removesuffix("/v1"))
    with proxy as url:
        config = load_config(
            reaction={
                "backend": "openai",
                "base_url": url,
                "frames": 2,
                "frame_max_side": 96,
                "retries": 0,
                "prefill_interval": 0,
            },
            clarify={"enabled": False},
        )
        outcome = asyncio.run(
            run_stream(config, str(clip), paced=False, asks=[(QUESTION, ASKED_AT)])
        )
    asked = [_question_turn(body) for body in proxy.bodies if body]
    framed = [turn for turn in asked if isinstance(turn, list)]
    assert framed, "no request carried frames"
    parts = framed[0]
    kinds = [part["type"] for part in parts]
    assert kinds == ["text", "image_url", "text", "image_url", "text"]
    times = [float(parts[i]["text"].removeprefix("frame at t=").removesuffix("s")) for i in (0, 2)]
    assert times[0] < times[1] <= ASKED_AT + 1.0, "the newest frames up to the question, in order"
    assert QUESTION in parts[-1]["text"]
    for part in (parts[1], parts[3]):
        assert part["image_url"]["url"].startswith("data:image/jpeg;base64,")
    failed = [e.message for e in outcome.errors if e.request_id]
    assert any(QUESTION in message for message in failed), "the refusal was not reported"
    assert max(o.media_time for o in outcome.observations) >= DURATION - 1.5


def _question_turn(body: bytes) -> Any:
    """The last user turn's content of a chat request (a string, or a list of parts); None
    for a request without one (the system prompt read ahead)."""
    users = [m for m in json.loads(body).get("messages", []) if m["role"] == "user"]
    return users[-1]["content"] if users else None
