"""The first decision policy: questions at end of utterance, instructions once per occurrence."""

from __future__ import annotations

import dataclasses

import pytest

from decision import DecisionOptions, DecisionStage, RulePolicy, classify, parse_instruction
from decision.rules import accounts_for
from decision.understanding import with_model
from reaction.instructions import grounded
from vigil.instructions import Clause, WatchSpec
from vigil.items import (
    EndOfStream,
    Interrupt,
    Observation,
    Request,
    Response,
    Trigger,
    Utterance,
    new_id,
)


def observation(
    t: float, people: int = 0, faces: int = 0, text: tuple[str, ...] = ()
) -> Observation:
    return Observation(
        stream_id="s", media_time=t, frame_index=int(t), people=people, faces=faces, text=text
    )


def utterance(text: str, t0: float, t1: float) -> Utterance:
    return Utterance(
        stream_id="s",
        media_time=t1,
        utterance_id=new_id(),
        t0=t0,
        t1=t1,
        text=text,
        stamps={"heard": 1000.0 + t1},
    )


def request(text: str, kind: str = "question", t: float = 0.0) -> Request:
    return Request(stream_id="s", media_time=t, request_id=new_id(), kind=kind, text=text)


def triggers(items: list) -> list[Trigger]:
    return [item for item in items if isinstance(item, Trigger)]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("How many people are walking?", "question"),
        ("what does the sign say", "question"),
        ("Tell me when someone enters.", "instruction"),
        ("Please let me know if a face appears", "instruction"),
        ("Vigil, alert me when the text EXIT shows", "instruction"),
        ("I like this street.", "statement"),
        ("Vigil, but was the name of that place.", "question"),
        ("Hey Vigil: the red car, whose is it", "question"),
        ("I told Vigil, the red one.", "statement"),
    ],
)
def test_classify(text: str, intent: str) -> None:
    assert classify(text) == intent


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("tell me when someone enters", "people_at_least>=1"),
        ("tell me when there are more than 3 people", "people_at_least>=4"),
        ("let me know when five people are visible", "people_at_least>=5"),
        ("tell me when a face appears", "face_visible>=1"),
        ("tell me when the sign says 'EXIT'", "text_on_screen=EXIT"),
        ("tell me when the scene changes", "scene_change"),
        ('When a blue card appears on screen, output "BLUE".', "colour_on_screen=blue"),
        ("tell me when something gray shows up", "colour_on_screen=grey"),
        ("tell me when the room is empty", "people_at_most<=0"),
        ("Let me know once the word CLOSED shows up", "text_on_screen=CLOSED"),
        ("Tell me when someone says the word red", "speech_mentions=red"),
        ("tell me when Carlos talks", "person_speaks=Carlos"),
        ("Tell me when the teacher mentions homework", "speech_mentions=homework"),
        ("flag any mention of the word refund", "speech_mentions=refund"),
        ("Alert me when the whiteboard says Sold Out", "text_on_screen=Sold Out"),
        ("ping me once the label on the crate reads HEAVY", "text_on_screen=HEAVY"),
        ("when the sign says OPEN, ping me", "text_on_screen=OPEN"),  # a sign says by showing
        ("notify me when there are six or more kids in view", "people_at_least>=6"),
    ],
)
def test_parse_instruction(text: str, kind: str) -> None:
    spec = parse_instruction(text)
    assert spec is not None
    assert spec.kind == kind


@pytest.mark.parametrize(
    ("text", "kind", "output"),
    [
        (
            "Once the poster shows SALE, respond with deals today",
            "text_on_screen=SALE",
            "deals today",
        ),
        ("say gate open when the board reads OPEN", "text_on_screen=OPEN", "gate open"),
        (
            "If you see the word purple written on the card, reply with 'found it'",
            "text_on_screen=purple",  # a colour that is written is text, not a colour in view
            "found it",
        ),
        (
            "whenever Priya asks a question, jot down 'Priya asks'",
            "person_speaks=Priya & question_asked",
            "Priya asks",
        ),
        ("when the kitchen is completely empty, post all clear", "people_at_most<=0", "all clear"),
        ("if there's any movement in the yard say MOVING", "motion", "MOVING"),
        ("Tell me when Anna speaks, and say so", "person_speaks=Anna", ""),
        ("When you hear someone say banana, ping me", "speech_mentions=banana", ""),
    ],
)
def test_parse_instruction_and_its_output(text: str, kind: str, output: str) -> None:
    spec = parse_instruction(text)
    assert spec is not None
    assert (spec.kind, spec.output) == (kind, output)
    assert accounts_for(text, spec)


@pytest.mark.parametrize(
    ("instruction", "clause", "output"),
    [
        ("Tell me if the baby looks sleepy", Clause(kind="speech_mentions", value="sleepy"), ""),
        ("If the kettle whistles, print 'tea'", Clause(kind="question_asked"), "tea"),
        (
            "When the flag rises, print 'flag up'",
            Clause(kind="text_on_screen", value="flag up"),
            "flag up",
        ),
        ("when anything in the aquarium shifts, tell me", Clause(kind="scene_change"), ""),
        ("Alert me when the lamp turns green", Clause(kind="colour_on_screen", value="red"), ""),
    ],
)
def test_a_models_clause_the_instruction_does_not_ask_for_is_dropped(
    instruction: str, clause: Clause, output: str
) -> None:
    spec = WatchSpec(clauses=(clause,), output=output, source="model")
    assert grounded(spec, instruction) is None  # so the instruction goes to the rules or `other`


def test_a_models_clause_the_instruction_asks_for_is_kept() -> None:
    spec = WatchSpec(
        clauses=(Clause(kind="speech_mentions", value="pizza"),), output="pizza", source="model"
    )
    kept = grounded(spec, "If somebody talks about pizza, reply pizza")
    assert kept is not None and (kept.kind, kept.output) == ("speech_mentions=pizza", "pizza")


def test_the_output_asked_for_is_not_what_is_watched() -> None:
    spec = parse_instruction("When someone mentions a kettle, output 'kettle'")
    assert spec is not None
    assert (spec.kind, spec.output) == ("speech_mentions=kettle", "kettle")


def test_colour_condition_reads_the_dominant_colours() -> None:
    spec = parse_instruction("tell me when a red card appears")
    assert spec is not None
    watch = RulePolicy(release=1).watch(spec, "tell me when a red card appears")
    shown = dataclasses.replace(observation(3.0), colours=("grey", "red"))
    assert watch.update(observation(2.0)) is None
    assert watch.update(shown) == "something red came into view at 3.0 s"


def test_unknown_instruction_is_not_parsed() -> None:
    assert parse_instruction("tell me when the weather is nice") is None


async def test_an_instruction_no_rule_fits_is_reported_not_understood_without_a_model() -> None:
    stage = DecisionStage()
    await stage.handle(request("tell me when the weather is nice", kind="instruction"))
    assert [(u.condition, u.description) for u in stage.understood] == [(None, "not understood")]


async def test_speech_instruction_fires_on_the_utterance_that_says_the_word() -> None:
    stage = DecisionStage(DecisionOptions(cooldown=0.0))
    await stage.handle(request("Tell me when someone mentions the garage", kind="instruction"))
    assert [u.condition for u in stage.understood] == ["speech_mentions=garage"]
    assert not triggers(await stage.handle(utterance("I parked by the gate.", 1.0, 2.0)))
    fired = triggers(await stage.handle(utterance("The garages are closed today.", 3.0, 4.5)))
    assert [t.asked_at for t in fired] == [4.5]
    assert "said 'The garages are closed today.'" in fired[0].evidence


async def test_a_named_speaker_and_a_picture_must_hold_together() -> None:
    stage = DecisionStage(DecisionOptions(cooldown=0.0))
    text = "when Alice speaks while a red card is visible, say 'red'"
    await stage.handle(request(text, kind="instruction"))
    assert stage.understood[0].condition == "person_speaks=Alice & colour_on_screen=red"
    alice = dataclasses.replace(utterance("Here it is.", 1.0, 2.0), speaker="Alice")
    assert not triggers(await stage.handle(alice))  # no red yet
    await stage.handle(dataclasses.replace(observation(3.0), colours=("red", "grey")))
    bob = dataclasses.replace(utterance("I agree.", 3.0, 4.0), speaker="Bob")
    assert not triggers(await stage.handle(bob))
    again = dataclasses.replace(utterance("Look at this.", 4.0, 5.0), speaker="Alice")
    fired = triggers(await stage.handle(again))
    assert len(fired) == 1 and fired[0].output == "red"


async def test_spoken_question_triggers_at_end_of_utterance() -> None:
    stage = DecisionStage()
    await stage.handle(observation(10.0, people=4))
    out = await stage.handle(utterance("How many people are walking?", 12.0, 13.6))
    requests = [item for item in out if isinstance(item, Request)]
    assert [r.text for r in requests] == ["How many people are walking?"]
    assert requests[0].origin == "spoken"
    (trigger,) = triggers(out)
    assert trigger.asked_at == pytest.approx(13.6)
    assert trigger.stamps["asked"] == pytest.approx(1013.6)  # when the words were heard


async def test_statement_triggers_nothing() -> None:
    stage = DecisionStage()
    assert await stage.handle(utterance("Nice weather today.", 1.0, 2.0)) == []


async def test_typed_question_waits_for_a_fresh_observation() -> None:
    stage = DecisionStage()
    await stage.handle(observation(1.0, people=1))
    assert triggers(await stage.handle(request("How many people?", t=5.0))) == []
    assert triggers(await stage.handle(observation(4.0, people=2))) == []
    (trigger,) = triggers(await stage.handle(observation(5.0, people=3)))
    assert trigger.asked_at == 5.0
    assert stage.open_requests("s") == []


async def test_typed_question_without_video_is_answered_at_once() -> None:
    stage = DecisionStage(DecisionOptions(video=False))
    assert len(triggers(await stage.handle(request("What was said?")))) == 1


async def test_pending_question_is_answered_at_end_of_stream() -> None:
    stage = DecisionStage()
    await stage.handle(request("How many people?", t=30.0))
    out = await stage.handle(EndOfStream(stream_id="s", media_time=20.0))
    assert len(triggers(out)) == 1


async def test_instruction_fires_once_per_occurrence() -> None:
    stage = DecisionStage(policy=RulePolicy(release=2))
    await stage.handle(request("tell me when someone enters", kind="instruction"))
    people = [0, 0, 2, 2, 1, 0, 3, 0, 0, 1, 1]
    fired = []
    for second, count in enumerate(people):
        if triggers(await stage.handle(observation(float(second), people=count))):
            fired.append(second)
    # enters at 2; a single empty frame (5) is flicker, not an exit; re-armed after 7-8
    assert fired == [2, 9]


async def test_instruction_evidence_names_what_happened() -> None:
    stage = DecisionStage()
    await stage.handle(request("tell me when the sign says 'EXIT'", kind="instruction"))
    (trigger,) = triggers(await stage.handle(observation(7.0, text=("EMERGENCY EXIT",))))
    assert trigger.evidence == "the text 'EXIT' appeared at 7.0 s"
    assert trigger.output == "The text 'EXIT' appeared at 7.0 s."  # said as it is
    assert "7.0" in trigger.evidence


def answer_to(trigger: Trigger) -> Response:
    return Response(
        stream_id="s",
        media_time=trigger.media_time + 1,
        response_id=new_id(),
        request_id=trigger.request.request_id,
        question=trigger.request.text,
        text="4 people.",
        asked_at=trigger.asked_at,
        asked_wall=0,
        first_token_wall=0,
        done_wall=0,
    )


async def test_speech_during_an_answer_interrupts_it() -> None:
    stage = DecisionStage()
    await stage.handle(observation(1.0))
    (first,) = triggers(await stage.handle(utterance("What is happening?", 1.0, 2.0)))
    await stage.handle(answer_to(first))
    # the answer is done (the reaction stage's marker arrived): speech is just speech
    assert not any(isinstance(i, Interrupt) for i in await stage.handle(utterance("Ok.", 3, 4)))
    triggers(await stage.handle(utterance("How many people?", 5.0, 6.0)))
    out = await stage.handle(utterance("Never mind.", 6.5, 7.0))
    (interrupt,) = [item for item in out if isinstance(item, Interrupt)]
    assert interrupt.media_time == 6.5


async def test_the_onset_of_speech_interrupts_before_the_sentence_ends() -> None:
    stage = DecisionStage()
    triggers(await stage.handle(utterance("How many people?", 5.0, 6.0)))
    onset = dataclasses.replace(utterance("", 6.5, 6.8), final=False)
    (interrupt,) = await stage.handle(onset)
    assert isinstance(interrupt, Interrupt) and interrupt.media_time == 6.5
    assert await stage.handle(dataclasses.replace(onset, text="Never", t1=7.3)) == [], "once"
    final = await stage.handle(utterance("Never mind.", 6.5, 7.6))
    assert not any(isinstance(item, Interrupt) for item in final)


async def test_speech_from_before_the_question_does_not_interrupt() -> None:
    """Unpaced, perception can report earlier speech after an answer has started."""
    stage = DecisionStage()
    triggers(await stage.handle(utterance("How many people?", 5.0, 6.0)))
    late_news = dataclasses.replace(utterance("", 2.0, 2.3), final=False)
    assert await stage.handle(late_news) == []


async def test_no_barge_in_when_disabled() -> None:
    stage = DecisionStage(DecisionOptions(barge_in=False))
    await stage.handle(utterance("How many people?", 5.0, 6.0))
    out = await stage.handle(utterance("Never mind.", 6.5, 7.0))
    assert not any(isinstance(item, Interrupt) for item in out)


def said(text: str, t0: float, speaker: str) -> Utterance:
    return dataclasses.replace(utterance(text, t0, t0 + 1.5), speaker=speaker)


async def answered_requests(stage: DecisionStage, lines: list[Utterance]) -> list[str]:
    texts = []
    for line in lines:
        texts += [t.request.text for t in triggers(await stage.handle(line))]
    return texts


async def test_questions_for_someone_else_are_left_to_them() -> None:
    stage = DecisionStage()
    lines = [
        said("I'm Bob.", 0.0, "speaker-1"),
        said("Hi, my name is Alice.", 3.0, "speaker-2"),
        said("Bob, what time is the train?", 6.0, "Alice"),
        said("Hey Alice, where did you park?", 10.0, "Bob"),
        said("Is the door open, right Bob?", 14.0, "Alice"),
        said("Vigil, how many people are there?", 18.0, "Alice"),
        said("What colour is the car?", 40.0, "Bob"),
    ]
    assert await answered_requests(stage, lines) == [
        "Vigil, how many people are there?",
        "What colour is the car?",  # nobody else called: a single user need not say the name
    ]


async def test_name_mode_answers_the_named_and_follow_ups_only() -> None:
    stage = DecisionStage(DecisionOptions(addressing="name", follow_up=10.0))
    first = await answered_requests(stage, [said("How many people are there?", 0.0, "Alice")])
    assert first == []
    named = said("Vigil, how many people are there?", 5.0, "Alice")
    [trigger] = triggers(await stage.handle(named))
    await stage.handle(
        Response(stream_id="s", media_time=7.0, response_id=new_id(),
                 request_id=trigger.request.request_id, question=named.text, text="3 people.",
                 asked_at=7.0, asked_wall=0.0, first_token_wall=0.0, done_wall=0.0)
    )  # fmt: skip
    later = [said("And how many faces?", 12.0, "Alice"), said("Is it raining?", 40.0, "Alice")]
    assert await answered_requests(stage, later) == ["And how many faces?"]


async def test_an_instruction_stays_quiet_during_its_cooldown() -> None:
    stage = DecisionStage(DecisionOptions(cooldown=5.0), RulePolicy(release=1))
    await stage.handle(request("tell me when someone enters", kind="instruction"))
    people = [1, 0, 1, 0, 0, 0, 0, 1, 0, 1]
    fired = []
    for second, count in enumerate(people):
        if triggers(await stage.handle(observation(float(second), people=count))):
            fired.append(second)
    assert fired == [0, 7]  # the entries at 2 and 9 came within 5 s of an answer


@pytest.mark.parametrize(
    ("instruction", "trusted"),
    [
        ("Tell me when the word DEPARTURES appears on screen.", True),
        ("If at least 4 people show up, say FULL HOUSE", True),
        ("ping me if someone asks a question or says help", False),  # one alternative read
        ("when the screen turns red near the EXIT door, beep", False),  # EXIT unexplained
        ("if my face is in frame I want you to say hi", False),  # an output asked for, none read
    ],
)
def test_the_rules_are_trusted_only_with_the_whole_instruction(
    instruction: str, trusted: bool
) -> None:
    spec = parse_instruction(instruction)
    assert spec is not None
    assert accounts_for(instruction, spec) is trusted, spec.kind


async def test_what_the_rules_read_surely_corrects_the_models_spec() -> None:
    async def compile_(instruction: str) -> WatchSpec:  # a small model's slips
        return WatchSpec(
            clauses=(Clause(kind="question_asked"), Clause(kind="speech_mentions", value="help")),
            combine="all",
            output="",
            source="model",
        )

    spec = await with_model("if someone asks a question or says help, write 'on my way'", compile_)
    assert (spec.combine, spec.output, spec.source) == ("any", "on my way", "model")
