"""What perception measured, offered as evidence for an option: the time a question points to
(:mod:`reaction.sightings`) and the count it asks for (:mod:`reaction.counting`)."""

from __future__ import annotations

import pytest

from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.counting import count_support, counted, option_number
from reaction.sightings import reference, temporal_support
from reaction.time_reference import named_anchor, read_reference
from vigil.items import Observation, Utterance


def _seen(
    t: float,
    *texts: str,
    sizes: tuple[float, ...] = (),
    backdrops: tuple[float, ...] = (),
    people: int = 0,
) -> Observation:
    return Observation(
        stream_id="s",
        media_time=t,
        frame_index=int(t),
        text=texts,
        text_sizes=sizes,
        text_backdrops=backdrops,
        people=people,
    )


def _said(t: float, speaker: str, text: str) -> Utterance:
    return Utterance(
        stream_id="s", media_time=t, utterance_id=f"u{t}", t0=t - 1, t1=t, text=text,
        speaker=speaker,
    )  # fmt: skip


# A plate in a corner all along, two cards held up one after the other, one read twice by OCR
# with a slip; three voices, the last one unnamed.
SEEN = [
    _seen(1, "NO PARKING", sizes=(0.03,), people=2),
    _seen(4, "NO PARKING", "COMET", sizes=(0.03, 0.09), people=2),
    _seen(5, "NO PARKING", "C0MET", sizes=(0.03, 0.09), people=3),
    _seen(9, "NO PARKING", "LANTERN", sizes=(0.03, 0.1), people=3),
    _seen(12, "NO PARKING", sizes=(0.03,), people=1),
]
HEARD = [
    _said(3, "Nina", "hello there"),
    _said(6, "Omar", "the meeting moved to room 5"),
    _said(8, "Nina", "thanks"),
    _said(11, "speaker-3", "I brought the lantern"),
]


def test_an_option_states_a_number_as_digits_or_a_word() -> None:
    assert [option_number(o) for o in ("3", "three", "2 people", "Zero", "many")] == [
        3, 3, 2, 0, None,
    ]  # fmt: skip


def test_cards_held_up_so_far_are_the_large_texts_each_counted_once() -> None:
    for question in (
        "How many cards with a word have been shown so far?",
        "What is the number of boards held up until now?",
    ):
        assert counted(question, SEEN, HEARD) == 2


def test_a_word_on_a_slide_that_fills_the_view_is_no_card() -> None:
    slide = _seen(14, "CLOSED", sizes=(0.12,), backdrops=(0.97,))
    card = _seen(16, "ORBIT", sizes=(0.09,), backdrops=(0.18,))
    assert counted("How many cards have been held up so far?", [*SEEN, slide, card], HEARD) == 3
    assert counted("How many words have been shown so far?", [*SEEN, slide, card], HEARD) == 5


def test_signs_and_texts_count_every_text_read() -> None:
    assert counted("How many different texts have appeared on screen?", SEEN, HEARD) == 3


def test_a_question_about_now_counts_what_is_in_view() -> None:
    assert counted("How many words are on screen right now?", SEEN, HEARD) == 1
    assert counted("How many people are in view at the moment?", SEEN, HEARD) == 1


def test_voices_count_distinct_speakers_named_or_not() -> None:
    for question in (
        "How many different people have spoken so far?",
        "Count the distinct voices heard since the start.",
        "So far, how many individuals have said something?",
    ):
        assert counted(question, SEEN, HEARD) == 3


def test_the_option_stating_the_count_is_backed_and_only_it() -> None:
    options = ["2", "3", "4", "1"]
    backed = count_support("How many speakers have we heard?", options, SEEN, HEARD)
    assert backed == [0.0, 1.0, 0.0, 0.0]


def test_no_support_when_the_question_is_no_count_or_no_option_fits() -> None:
    assert count_support("Which card came first?", ["2", "3", "4", "1"], SEEN, HEARD) is None
    assert count_support("How many speakers?", ["5", "6", "7", "8"], SEEN, HEARD) is None
    assert count_support("How many speakers?", ["Nina", "Omar", "5", "6"], SEEN, HEARD) is None


def test_without_measured_sizes_cards_are_not_counted() -> None:
    unsized = [_seen(o.media_time, *o.text) for o in SEEN]
    assert counted("How many cards have been shown?", unsized, HEARD) is None


def test_the_first_of_the_options_to_appear_is_backed() -> None:
    options = ["LANTERN", "COMET", "ORBIT", "NO PARKING"]
    first = reference("Which of these appeared on screen first?")
    backed = temporal_support(first, options, SEEN, HEARD)
    assert backed == [0.0, 0.0, 0.0, 1.0]
    after = reference("Which card came right after COMET?")
    backed = temporal_support(after, options, SEEN, HEARD)
    assert backed == [1.0, 0.0, 0.0, 0.0]


class _Unasked(LlamaCppBackend):
    """A backend for cases the rules must settle: asking the model fails the test."""

    async def _score(self, *args: object) -> list[float]:
        raise AssertionError("the model was asked")


def test_the_anchor_of_a_relation_is_the_named_text_seen_on_screen() -> None:
    options = ["LANTERN", "ORBIT", "DELTA", "NO PARKING"]
    assert named_anchor("Once 'COMET' had vanished, what replaced it?", options, SEEN, HEARD) == (
        "COMET"
    )
    assert named_anchor("what came along once the comet card left?", options, SEEN, HEARD) == (
        "comet"
    )
    assert named_anchor("Which came up once the TIGER card left?", options, SEEN, HEARD) is None


async def test_the_model_is_asked_the_moment_only_when_the_rules_read_none_and_it_decides() -> None:
    backend = _Unasked("unused.gguf")
    options = ["LANTERN", "COMET", "ORBIT", "NO PARKING"]
    first = await read_reference(backend, "Which came first?", options, SEEN, HEARD)
    assert first is not None and first.kind == "first"
    # options heard, not read on screen: no moment to ask about
    said = await read_reference(backend, "Which did Omar pick?", ["room 5", "room 6"], SEEN, HEARD)
    assert said is None


@pytest.mark.parametrize(
    ("question", "kind", "anchor"),
    [
        ("Which was shown before the others?", "first", ""),
        ("What did the card say before it was taken away?", "latest", ""),
        ('After "COMET" went away, what came up on screen?', "after", "COMET"),
        ("Which card came right before LANTERN?", "before", "LANTERN"),
    ],
)
def test_before_and_after_anchor_only_on_something_named(
    question: str, kind: str, anchor: str
) -> None:
    relation = reference(question)
    assert relation is not None and (relation.kind, relation.anchor) == (kind, anchor)


async def test_an_anchor_nobody_saw_gives_way_to_the_questions_other_cues() -> None:
    options = ["LANTERN", "COMET", "ORBIT", "NO PARKING"]
    question = "Of these, which was the first shown after Tuesday?"
    relation = await read_reference(_Unasked("unused.gguf"), question, options, SEEN, HEARD)
    assert relation is not None and relation.kind == "first"
