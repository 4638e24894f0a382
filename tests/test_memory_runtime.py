"""Long-term memory through the whole graph: what was said in one run is answered in the next.

Two runs share a store folder, as two sessions of a long-lived service (or one before and one
after a restart) would: in the first, Bob introduces himself and says a code word; in the
second, Bob speaks without giving his name (his voice is known from the first), and a typed
question asks for the code word.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evaluation.demo import build_clip
from evaluation.samples import sample_video
from memory import PersistentMemory, Scope
from runtime.config import load_config
from runtime.session import run_stream
from runtime.stages import ModelPaths

pytestmark = pytest.mark.slow


def test_a_later_session_recalls_what_bob_said(
    ray_cluster: None, model_paths: ModelPaths, tmp_path: Path
) -> None:
    store = tmp_path / "memory"
    config = load_config(memory={"persistent": True, "path": str(store), "tenant": "acme"})
    said = build_clip(
        sample_video("vtest.avi"),
        tmp_path / "one.mp4",
        start=0.0,
        duration=8.0,
        speech=[("Hi, I'm Bob. The code word is pineapple.", 1.0)],
    )
    back = build_clip(
        sample_video("vtest.avi"),
        tmp_path / "two.mp4",
        start=40.0,
        duration=7.0,
        speech=[("I am back at the office now.", 0.5)],
    )

    first = asyncio.run(run_stream(config, str(said), paced=False, paths=model_paths))
    assert [u.speaker for u in first.utterances] == ["Bob"]
    assert first.session_summary and "pineapple" in first.session_summary.lower()

    second = asyncio.run(
        run_stream(
            config,
            str(back),
            paced=False,
            asks=[("What was the code word Bob said?", 3.0)],
            paths=model_paths,
        )
    )
    assert [u.speaker for u in second.utterances] == ["Bob"], "his voice was remembered"
    assert len(second.responses) == 1
    assert "pineapple" in second.responses[0].text.lower(), second.responses[0].text

    other_tenant = asyncio.run(
        PersistentMemory(store).recall("code word pineapple", Scope(tenant="globex"))
    )
    assert other_tenant == [], "another tenant sees nothing"
