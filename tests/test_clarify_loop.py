"""The clarify loop's rounds with the default model and a scripted person: what it asks, how a
"no" and a "yes" weigh, and the model's own question where nothing tells candidates apart.

The person is scripted (they remember one detail, the rooftop, and say no to anything else,
as people who do not recall a detail often do); the model choosing each action is the real
default one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.clarify import ClarifyAgent, ClarifyOptions
from runtime.stages import ModelPaths
from vigil.passages import Found

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

GRILL = Found(
    "The Tidewater Grill",
    "The Tidewater Grill is the best known seafood restaurant in Port Sallow. It sits out on "
    "the old pier, was founded in 1998 and is famous for grilled lobster.",
    "documents",
    0.72,
)
KITCHEN = Found(
    "Tidewater Kitchen",
    "Tidewater Kitchen is a small seafood restaurant in Port Sallow. It has a rooftop terrace "
    "two streets inland and is known for mussels cooked in cider.",
    "documents",
    0.70,
)
OYSTER_BAR = Found(
    "Tidewater Oyster Bar",
    "Tidewater Oyster Bar is a standing-room bar on Pier 5 in Port Sallow. It serves only "
    "oysters and white wine, in the evenings.",
    "documents",
    0.69,
)
REQUEST = "What was the name of that Tidewater seafood place in Port Sallow?"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def backend(model_paths: ModelPaths) -> AsyncIterator[LlamaCppBackend]:
    backend = LlamaCppBackend(model_paths.llm, n_ctx=2048, n_threads=2)
    await backend.start()
    yield backend
    await backend.stop()


class Person:
    """Says yes to a question about what they remember, no to anything else."""

    def __init__(self, *remembered: str) -> None:
        self.remembered = remembered
        self.asked: list[str] = []

    async def __call__(self, question: str) -> str:
        self.asked.append(question)
        return "yes" if any(w in question.lower() for w in self.remembered) else "no"


async def test_a_no_keeps_it_asking_one_detail_at_a_time_until_a_yes_decides(
    backend: LlamaCppBackend,
) -> None:
    person = Person("rooftop", "terrace")
    agent = ClarifyAgent(backend, options=ClarifyOptions(max_asks=4))
    outcome = await agent.run(REQUEST, asker=person, found=[GRILL, OYSTER_BAR, KITCHEN])
    assert outcome.verdict.ambiguous
    assert "rooftop" in person.asked[-1].lower(), person.asked
    assert len(person.asked) >= 2, "a no alone decided"  # the grill's detail came first
    for question in person.asked:  # one detail each, never a name
        detail = question.split(":", 1)[-1]
        assert " and " not in detail and "," not in detail, question
        assert "Tidewater" not in question, question
    assert outcome.answer == KITCHEN.title


async def test_a_person_who_recalls_nothing_gets_at_most_max_asks_then_an_answer(
    backend: LlamaCppBackend,
) -> None:
    person = Person()
    agent = ClarifyAgent(backend, options=ClarifyOptions(max_asks=3))
    outcome = await agent.run(REQUEST, asker=person, found=[GRILL, KITCHEN])
    assert len(person.asked) == 3 and len(set(person.asked)) == 3
    assert outcome.answer in (GRILL.title, KITCHEN.title) and not outcome.needs


async def test_with_nothing_found_the_models_own_question_is_asked(
    backend: LlamaCppBackend,
) -> None:
    person = Person()
    agent = ClarifyAgent(backend, options=ClarifyOptions.for_mode("forced_ask", max_asks=1))
    outcome = await agent.run("Which film am I thinking of? It came out in the nineties.",
                              asker=person, found=[])  # fmt: skip
    assert len(person.asked) == 1
    assert person.asked[0].endswith("?") and "one more detail" not in person.asked[0]
    assert outcome.answer
