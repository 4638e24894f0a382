"""Seven questions typed at the same moment, on the default model, through the Ray graph:
all answered, in the order asked, none timed out, each with its wait in the queue shown."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from rich.console import Console

from evaluation.demo import Overlay, build_clip
from evaluation.samples import sample_video
from runtime.config import load_config
from runtime.console import EventPrinter
from runtime.session import RunOutcome, run_stream
from runtime.stages import ModelPaths
from vigil.items import Notice

pytestmark = pytest.mark.slow

QUESTIONS = [
    "What does the sign say?",
    "How many people are visible?",
    "What colour is most of the picture?",
    "Is anyone speaking?",
    "What does the sign say?\nOptions:\nA. GATE 9\nB. PLATFORM 3\nC. EXIT\nD. GATE 4",
    "Has the picture changed?",
    "Describe the scene in one sentence.",
]
ASKED_AT = 4.0


@pytest.fixture(scope="module")
def outcome(
    ray_cluster: None, model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory
) -> RunOutcome:
    clip = build_clip(
        sample_video("vtest.avi"),
        tmp_path_factory.mktemp("seven") / "sign.mp4",
        start=10.0,
        duration=8.0,
        overlays=[Overlay(text="GATE 9", t0=0.0, t1=8.0, position="top")],
    )
    # A short timeout: were waiting counted, the last answers (six ahead of them) would miss it.
    config = load_config(reaction={"timeout": 30.0})
    asks = [(question, ASKED_AT) for question in QUESTIONS]
    return asyncio.run(
        run_stream(config, str(Path(clip)), paced=False, asks=asks, paths=model_paths)
    )


def test_all_seven_are_answered_in_the_order_asked(outcome: RunOutcome) -> None:
    assert not outcome.errors, [e.message for e in outcome.errors]
    answered = [r for r in outcome.responses if not r.cancelled]
    assert [r.question for r in answered] == QUESTIONS
    finished = [r.done_wall for r in answered]
    assert finished == sorted(finished)
    assert answered[4].choice == "A" and answered[4].text == "A. GATE 9"


def test_the_wait_is_counted_apart_and_told_once(outcome: RunOutcome) -> None:
    waits = [r.queue_wait for r in outcome.responses]
    assert waits[0] < 1.0 and waits[-1] > waits[1] > 0, waits
    notices = [e for e in outcome.events if isinstance(e, Notice)]
    assert len(notices) == 1 and "order asked" in notices[0].text
    out = io.StringIO()
    printer = EventPrinter(Console(file=out, width=200, highlight=False))
    for response in outcome.responses:
        printer(response)
    printed = out.getvalue()
    assert printed.count("waiting in the queue") == len(QUESTIONS), printed
