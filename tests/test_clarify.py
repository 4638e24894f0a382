"""The clarify loop: ambiguity found in what was searched, replies routed back by the decision
stage, the document index on disk, InteractComp's decryption, and a live session on Ray in
which a typed ambiguous question is asked back, answered and then answered right, or left
unanswered and ended by saying what the agent would need.

The documents are two restaurants that share a name and a town (a popular grill on the pier,
a small kitchen on a rooftop inland), and a filler; the default model runs the loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from decision import DecisionStage
from decision.ambiguity import assess, unresolved_reference
from evaluation.clarify_eval import Case, names_match, same_name
from evaluation.interactcomp import decrypt, load_interactcomp
from evaluation.voices import say
from memory.embeddings import TextEmbedder
from reaction.documents import DocumentIndex, read_passages
from runtime.actors import reaction as reaction_actor
from runtime.config import load_config
from runtime.graph import StreamGraph
from runtime.stages import ModelPaths
from vigil.errors import ConfigError
from vigil.items import (
    AudioChunk,
    Clarification,
    Reply,
    Request,
    Response,
    Utterance,
    VideoFrame,
    new_id,
)
from vigil.passages import Found

GRILL = (
    "The Tidewater Grill",
    "The best known seafood restaurant in Port Sallow, out on the old pier since 1998, famous "
    "for grilled lobster and its neon sign.",
)
KITCHEN = (
    "Tidewater Kitchen",
    "A small seafood restaurant in Port Sallow on a rooftop terrace two streets inland, opened "
    "in 2016; known for mussels cooked in cider.",
)
FILLER = ("Marrow Park", "A park in Dornhalt with a pond and an old bandstand.")
QUESTION = "What was the name of that Tidewater seafood place in Port Sallow?"


def _found(title: str, text: str, similarity: float) -> Found:
    return Found(title, text, "documents", similarity)


def test_several_close_targets_or_an_unresolved_reference_make_a_request_ambiguous() -> None:
    close = [_found(*GRILL, 0.71), _found(*KITCHEN, 0.68), _found(*FILLER, 0.05)]
    verdict = assess(QUESTION, close)
    assert verdict.ambiguous
    assert [f.title for f in verdict.candidates] == [GRILL[0], KITCHEN[0]]
    kitchen, grill = (verdict.differences[_found(*x, 0).line()] for x in (KITCHEN, GRILL))
    assert any("cider" in d for d in kitchen) and not any("cider" in d for d in grill)
    assert any("rooftop" in d for d in kitchen) and not any("rooftop" in d for d in grill)
    assert any("pier" in d for d in grill) and not any("Port Sallow" in d for d in grill)
    assert all(len(d.split()) <= 10 for d in (kitchen[0], grill[0])), (kitchen, grill)
    assert not any("Tidewater" in d for d in (*kitchen, *grill))  # never the name
    bundled = _found("Nightjars", "A folk trio. They play banjo, fiddle and upright bass.", 0.7)
    other = _found("Nightjar Parade", "A rock band. They play electric guitars.", 0.69)
    split = assess("Which Nightjar band?", [bundled, other]).differences[bundled.line()]
    assert "A folk trio" in split and not any("," in d or " and " in d for d in split), split
    clear = [_found(*KITCHEN, 0.74), _found(*GRILL, 0.41)]
    assert not assess("Which Port Sallow restaurant serves mussels in cider?", clear).ambiguous
    assert assess("Is it the one we talked about?", clear).ambiguous  # "the one", two found
    assert not assess("Is it the one we talked about?", clear[:1]).ambiguous  # only one
    assert unresolved_reference("what was that place Ana suggested") is not None
    assert unresolved_reference("What colour is the screen?") is None


def test_the_next_words_of_the_person_asked_are_the_reply_and_never_barge_in() -> None:
    stage = DecisionStage()

    async def flow() -> list[list[object]]:
        asked = Request(
            stream_id="s", media_time=1.0, request_id="r1", kind="question", text=QUESTION,
            speaker="Ana", origin="spoken",
        )  # fmt: skip
        trigger = await stage.handle(asked)
        back = Clarification(
            stream_id="s", media_time=2.0, request_id="r1", question="Was it on a rooftop?",
            speaker="Ana",
        )  # fmt: skip
        await stage.handle(back)
        other = Utterance(
            stream_id="s", media_time=3.0, utterance_id="u1", t0=2.5, t1=3.0,
            text="Vigil, what time is it?", speaker="Ben",
        )  # fmt: skip
        said = Utterance(
            stream_id="s", media_time=4.0, utterance_id="u2", t0=3.5, t1=4.0,
            text="Yes, up on the roof.", speaker="Ana",
        )  # fmt: skip
        return [trigger, await stage.handle(other), await stage.handle(said)]

    trigger, other, said = asyncio.run(flow())
    assert trigger and not any(isinstance(i, Reply) for i in other)  # Ben is not the one asked
    assert len(said) == 1 and isinstance(said[0], Reply)
    assert said[0].request_id == "r1" and said[0].text == "Yes, up on the roof."
    assert not stage.awaits_reply("s", "Ana")  # one reply per question


def test_a_spoken_reply_in_pieces_is_one_reply_and_later_words_are_not() -> None:
    stage = DecisionStage()

    def ana(t0: float, t1: float, text: str, *, final: bool = True) -> Utterance:
        return Utterance(
            stream_id="s", media_time=t1, utterance_id=new_id(), t0=t0, t1=t1, text=text,
            speaker="Ana", final=final,
        )  # fmt: skip

    async def flow() -> list[list[object]]:
        await stage.handle(
            Clarification(
                stream_id="s", media_time=2.0, request_id="r1", question="On a rooftop?",
                speaker="Ana",
            )
        )  # fmt: skip
        return [
            await stage.handle(ana(3.0, 3.4, "Yes.")),
            await stage.handle(ana(4.0, 4.3, "It was", final=False)),  # 0.6 s later: more
            await stage.handle(ana(4.0, 6.0, "It was up on the terrace.")),
            await stage.handle(ana(12.0, 12.5, "Vigil, what time is it?")),  # well after
        ]

    yes, begun, rest, later = asyncio.run(flow())
    assert [(r.text, r.spoken, r.partial) for r in yes] == [("Yes.", True, False)]
    assert [(r.request_id, r.partial) for r in begun] == [("r1", True)]
    assert [(r.request_id, r.text, r.partial) for r in rest] == [
        ("r1", "It was up on the terrace.", False)
    ]
    assert not any(isinstance(i, Reply) for i in later), "words long after are not the reply"


def test_a_spoken_reply_is_taken_once_the_person_stops_and_a_typed_one_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reaction_actor, "REPLY_SETTLE", 0.2)
    actor = reaction_actor.ReactionActor(lambda: None, memory=None, hub=None)  # type: ignore[arg-type, return-value]

    def piece(text: str, *, spoken: bool = True, partial: bool = False) -> Reply:
        return Reply(
            stream_id="s", media_time=1.0, request_id="r1", text=text, speaker="Ana",
            spoken=spoken, partial=partial,
        )  # fmt: skip

    async def flow() -> tuple[str, bool, str]:
        loop = asyncio.get_running_loop()
        actor._replies["r1"] = waiting = loop.create_future()
        await actor.reply(piece("Yes."))
        await asyncio.sleep(0.1)
        await actor.reply(piece("It", partial=True))  # more begun: no pause yet
        await asyncio.sleep(0.4)  # longer than the pause, but its words are not in
        early = waiting.done()
        await actor.reply(piece("It was up on the terrace."))
        spoken = await asyncio.wait_for(waiting, 2.0)
        actor._replies["r1"] = typed = loop.create_future()
        await actor.reply(piece("the terrace", spoken=False))
        return spoken, early, typed.result()

    spoken, early, typed = asyncio.run(flow())
    assert not early, "taken while the person was still speaking"
    assert spoken == "Yes. It was up on the terrace."
    assert typed == "the terrace"


def test_the_document_index_finds_by_words_and_by_meaning_and_survives_a_reopen(
    tmp_path: Path,
) -> None:
    embedder = TextEmbedder()
    index = DocumentIndex(tmp_path / "docs", embedder)
    assert index.add([GRILL, KITCHEN, FILLER]) == 3
    assert index.add([GRILL]) == 0  # already there
    by_word = asyncio.run(index.search("cider", 2))
    assert by_word[0].title == KITCHEN[0]
    by_meaning = asyncio.run(index.search("a garden with a lake for a walk", 1))
    assert by_meaning[0].title == FILLER[0]
    reopened = DocumentIndex(tmp_path / "docs", embedder)
    assert len(reopened) == 3
    assert {f.title for f in asyncio.run(reopened.search(QUESTION, 2))} == {GRILL[0], KITCHEN[0]}


def test_unreadable_documents_are_refused_with_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"}\n')
    with pytest.raises(ConfigError, match=r"bad\.jsonl:1"):
        read_passages(bad)
    binary = tmp_path / "photo.md"
    binary.write_bytes(b"\xff\xd8\xff\xe0" * 10)
    with pytest.raises(ConfigError, match="not UTF-8"):
        read_passages(binary)
    with pytest.raises(ConfigError, match="cannot index"):
        (tmp_path / "x.pdf").write_text("x")
        read_passages(tmp_path / "x.pdf")


def _encrypt(text: str, canary: str) -> str:
    key = hashlib.sha256(canary.encode()).digest()
    data = text.encode()
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    return base64.b64encode(bytes(a ^ b for a, b in zip(data, stream, strict=True))).decode()


def test_interactcomp_rows_decrypt_in_memory_and_bad_rows_are_named(tmp_path: Path) -> None:
    row = {"id": 7, "canary": "InteractComp"}
    row |= {k: _encrypt(v, "InteractComp") for k, v in
            {"domain": "films", "question": "Which film?", "answer": "Salt Lanterns",
             "context": "Black and white."}.items()}  # fmt: skip
    path = tmp_path / "ic.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({"id": 8}) + "\n")
    assert decrypt(row["answer"], "InteractComp") == "Salt Lanterns"
    with pytest.raises(ConfigError, match=r"ic\.jsonl:2"):
        load_interactcomp(path)
    first = load_interactcomp(path, limit=1)[0]
    assert (first.id, first.question, first.context) == ("7", "Which film?", "Black and white.")


def test_an_answer_is_right_only_when_it_names_the_target_and_not_the_distractor() -> None:
    case = Case("q", QUESTION, KITCHEN[0], "", distractor=GRILL[0])
    assert names_match("It is Tidewater Kitchen.", case)
    assert not names_match(GRILL[0], case)
    assert not names_match("Tidewater Kitchen or The Tidewater Grill", case)
    sequel = Case("q", QUESTION, "Calloway Star II", "", distractor="Calloway Star")
    assert names_match("It was the Calloway Star II.", sequel)  # the distractor only inside it
    assert not names_match("The Calloway Star.", sequel)
    assert not names_match("Calloway Star, or Calloway Star II", sequel)
    lite = Case("q", QUESTION, "Fenwick Rover", "", distractor="Fenwick Rover Lite")
    assert not names_match("the Fenwick Rover Lite", lite)  # the target only inside it
    assert names_match("the Fenwick Rover", lite)
    assert same_name("I think it is Salt Lanterns (2019).", "Salt Lanterns")
    assert not same_name("Salt", "Salt Lanterns") and not same_name("", "Salt Lanterns")


# --- a live session ------------------------------------------------------------------------------

WAIT = 120.0


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("documents") / "places.jsonl"
    path.write_text("".join(json.dumps({"title": t, "text": x}) + "\n" for t, x in
                            (GRILL, KITCHEN, FILLER)))  # fmt: skip
    return path


async def _session(
    config_overrides: dict[str, object], model_paths: ModelPaths, folder: Path, documents: Path
) -> StreamGraph:
    config = load_config(
        clarify={"documents": [str(documents)], "index_dir": str(folder), **config_overrides},
        reaction={"prefill_interval": 0},
    )
    return await StreamGraph.start(
        config, model_paths, stream_id=f"live-{new_id()}", source="live", paced=False
    )


async def _until(graph: StreamGraph, kind: type | tuple[type, ...], seen: list[object]) -> object:
    """Read the hub (keeping every event in ``seen``) until an event of ``kind`` arrives."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for event in await graph.hub.take.remote(timeout=0.5):
            seen.append(event)
            if isinstance(event, kind):
                return event
    said = [
        (type(e).__name__, getattr(e, "text", getattr(e, "question", getattr(e, "message", ""))))
        for e in seen
        if not isinstance(e, (VideoFrame, AudioChunk))
    ]
    raise AssertionError(f"nothing of {kind} within {WAIT} s: {said}")


async def _ask(graph: StreamGraph, text: str, at: float) -> None:
    """A typed question at media second ``at``, and a frame at that second to answer it on."""
    request = Request(
        stream_id=graph.stream_id, media_time=at, request_id=new_id(), kind="question", text=text
    )
    await graph.decision.submit.remote([request])
    frame = VideoFrame(
        stream_id=graph.stream_id, media_time=at, image=np.full((240, 320, 3), 90, np.uint8)
    )
    await graph.perception.push.remote([frame])


@pytest.mark.slow
def test_a_typed_ambiguous_question_is_asked_back_and_then_answered_right(
    ray_cluster: None, model_paths: ModelPaths, documents: Path, tmp_path: Path
) -> None:
    async def scenario() -> tuple[list[Clarification], Response, list[object]]:
        graph = await _session({"ask_timeout": 60.0}, model_paths, tmp_path / "index", documents)
        run = graph.perception.run.remote()
        seen: list[object] = []
        try:
            await asyncio.sleep(1.0)  # the live source is open
            await _ask(graph, QUESTION, 1.0)
            asked: list[Clarification] = []
            while True:
                event = await _until(graph, (Clarification, Response), seen)
                if isinstance(event, Response):
                    return asked, event, seen
                asked.append(event)  # type: ignore[arg-type]
                reply = Request(
                    stream_id=graph.stream_id, media_time=2.0, request_id=new_id(),
                    kind="question", text="It was up on a rooftop terrace, a bit inland.",
                )  # fmt: skip
                await graph.decision.submit.remote([reply])
        finally:
            await graph.perception.finish.remote("test over")
            await run
            graph.stop()

    asked, answer, seen = asyncio.run(scenario())
    assert asked, "the agent answered without asking"
    assert asked[0].speaker == "user" and asked[0].question.endswith("?")
    assert any(isinstance(e, Reply) for e in seen)  # the typed reply went to the loop
    assert KITCHEN[0] in answer.text and GRILL[0] not in answer.text, answer.text
    assert answer.question == QUESTION


@pytest.mark.slow
def test_a_question_never_answered_times_out_and_the_agent_says_what_it_needs(
    ray_cluster: None, model_paths: ModelPaths, documents: Path, tmp_path: Path
) -> None:
    async def scenario() -> Response:
        graph = await _session({"ask_timeout": 2.0}, model_paths, tmp_path / "index", documents)
        run = graph.perception.run.remote()
        try:
            await asyncio.sleep(1.0)
            await _ask(graph, QUESTION, 1.0)
            return await _until(graph, Response, [])  # type: ignore[return-value]
        finally:
            await graph.perception.finish.remote("test over")
            await run
            graph.stop()

    answer = asyncio.run(scenario())
    assert "did not guess" in answer.text
    assert GRILL[0] in answer.text and KITCHEN[0] in answer.text  # what it could not tell apart
    assert "1998" in answer.text or "2016" in answer.text  # the details that would


class _Feed:
    """Feeds a live stream in real time: a grey frame every half second and 16 kHz audio in
    0.1 s chunks, silence unless something was given to say."""

    STEP = 0.1

    def __init__(self, graph: StreamGraph) -> None:
        self.graph = graph
        self.media_time = 0.0
        self._pending: list[np.ndarray] = []
        self._stop = asyncio.Event()

    def say(self, samples: np.ndarray) -> None:
        step = int(16_000 * self.STEP)
        padded = np.concatenate([samples, np.zeros(step - len(samples) % step, np.float32)])
        self._pending.extend(padded.reshape(-1, step))

    async def run(self) -> None:
        step = int(16_000 * self.STEP)
        while not self._stop.is_set():
            chunk = self._pending.pop(0) if self._pending else np.zeros(step, np.float32)
            items: list[object] = [
                AudioChunk(
                    stream_id=self.graph.stream_id, media_time=self.media_time,
                    samples=chunk.reshape(-1, 1), sample_rate=16_000,
                )
            ]  # fmt: skip
            if round(self.media_time / self.STEP) % 5 == 0:
                items.append(
                    VideoFrame(
                        stream_id=self.graph.stream_id, media_time=self.media_time,
                        image=np.full((240, 320, 3), 90, np.uint8),
                    )
                )  # fmt: skip
            await self.graph.perception.push.remote(items)
            self.media_time += self.STEP
            await asyncio.sleep(self.STEP)

    def stop(self) -> None:
        self._stop.set()


@pytest.mark.slow
def test_a_spoken_ambiguous_question_is_asked_back_and_the_same_voice_replies(
    ray_cluster: None, model_paths: ModelPaths, documents: Path, tmp_path: Path
) -> None:
    voice = "piper:joe"
    question = say("Vigil, what was the name of that Tidewater seafood place?", voice)
    pause = np.zeros(12_800, np.float32)  # 0.8 s: "Yes." ends an utterance of its own
    reply = np.concatenate(
        [say("Yes.", voice), pause, say("It was up on a rooftop terrace, a bit inland.", voice)]
    )

    async def scenario() -> tuple[list[object], Response]:
        graph = await _session({"ask_timeout": 90.0}, model_paths, tmp_path / "index", documents)
        run = graph.perception.run.remote()
        feed = _Feed(graph)
        feeding = asyncio.create_task(feed.run())
        seen: list[object] = []
        try:
            await asyncio.sleep(1.0)
            feed.say(question)
            while True:
                event = await _until(graph, (Clarification, Response), seen)
                if isinstance(event, Response):
                    return seen, event
                feed.say(reply)
        finally:
            feed.stop()
            await feeding
            await graph.perception.finish.remote("test over")
            await run
            graph.stop()

    seen, answer = asyncio.run(scenario())
    asked = [e for e in seen if isinstance(e, Clarification)]
    replies = [e for e in seen if isinstance(e, Reply)]
    assert asked and replies, [type(e).__name__ for e in seen]
    # the voice that asked is the one that replied, in two pieces taken as one reply
    assert {r.speaker for r in replies} == {asked[0].speaker}
    assert len(replies) == 2, [r.text for r in replies]
    # Whisper heard a detail that tells the places apart (it has heard "roof-hop" and
    # "roof-op terrors, a bit emland" for "rooftop terrace, a bit inland")
    heard = replies[1].text.lower()
    assert any(word in heard for word in ("terrace", "roof", "inland")), heard
    assert KITCHEN[0] in answer.text and GRILL[0] not in answer.text, answer.text
