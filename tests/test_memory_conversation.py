"""Issue 6's scripted conversation on real media: three sessions, four voices, cards on camera.

Each session is a clip of its own (pedestrian footage, espeak-ng voices, coloured cards drawn
over the picture; see :mod:`evaluation.conversation`), played through the whole graph as a run
of its own with persistent memory in one store and tenant. In session 3, questions about what
a named speaker said or showed in session 1 are typed; the answer must state the fact and name
the speaker. Session 2 holds distractors: another speaker's locker code, another card.
"""

from __future__ import annotations

import asyncio

import pytest

from evaluation.conversation import (
    QUESTIONS,
    SESSIONS,
    Question,
    build_session,
    mentions,
    names,
    play_sessions,
)
from runtime.config import load_config
from runtime.session import RunOutcome
from runtime.stages import ModelPaths

pytestmark = pytest.mark.slow

LIVE = tuple(q for q in QUESTIONS if q.live)


@pytest.fixture(scope="module")
def conversation(
    ray_cluster: None, model_paths: ModelPaths, tmp_path_factory: pytest.TempPathFactory
) -> list[RunOutcome]:
    folder = tmp_path_factory.mktemp("conversation")
    config = load_config(memory={"path": str(folder / "memory"), "tenant": "office"})
    built = [build_session(s, folder / f"{s.name}.mp4") for s in SESSIONS]
    return asyncio.run(play_sessions(config, built, LIVE, paths=model_paths))


def answer_to(outcome: RunOutcome, question: Question) -> str:
    texts = [r.text for r in outcome.responses if r.question == question.text]
    assert len(texts) == 1, (question.text, outcome.responses, outcome.errors)
    return texts[0]


def test_voices_named_in_session_1_are_recognised_later(conversation: list[RunOutcome]) -> None:
    first, second, _ = conversation
    assert {u.speaker for u in first.utterances} == {"Alice", "Bob", "Carol", "Sarah"}, [
        (u.speaker, u.text) for u in first.utterances
    ]
    heard = [u.speaker for u in second.utterances]
    assert set(heard) <= {"Alice", "Bob", "Carol", "Sarah"}, "nobody introduced themselves again"
    assert len(set(heard)) >= 3, [(u.speaker, u.text) for u in second.utterances]


def test_voices_back_a_session_later_without_a_name_are_theirs(
    conversation: list[RunOutcome],
) -> None:
    """Session 3: Carol (piper) and Bob (festival) speak again, last heard a session or two
    before, and say no name."""
    third = {u.text.strip(): u.speaker for u in conversation[-1].utterances}
    said = {
        text: speaker for text, speaker in third.items() if "slides" in text or "budget" in text
    }
    assert sorted(said.values()) == ["Bob", "Carol"], third


def test_session_3_recalls_what_alice_said_in_session_1(conversation: list[RunOutcome]) -> None:
    (question,) = [q for q in LIVE if q.kind == "said"]
    answer = answer_to(conversation[-1], question)
    assert mentions(answer, question.answer), answer  # 417, not Sarah's 258 from session 2
    assert names(answer, question.speaker), answer


def test_session_3_recalls_the_card_bob_showed_in_session_1(
    conversation: list[RunOutcome],
) -> None:
    (question,) = [q for q in LIVE if q.kind == "shown"]
    answer = answer_to(conversation[-1], question)
    assert mentions(answer, question.answer), answer  # PENGUIN, not Carol's VIOLIN or TIGER
