"""Prompt building: content, budget, order and the prefix that stays the same."""

from __future__ import annotations

import itertools

from reaction.choices import parse_choices
from reaction.context import (
    approx_tokens,
    build_messages,
    build_prefix,
    now_line,
    observation_line,
    system_prompt,
)
from vigil.items import Observation, Request, Response, Trigger, Utterance


def obs(t: float, people: int, **fields: object) -> Observation:
    return Observation(stream_id="s", media_time=t, frame_index=int(t * 2), people=people, **fields)


def question(text: str, at: float, kind: str = "question", evidence: str = "") -> Trigger:
    request = Request(
        stream_id="s", media_time=at, request_id="r", kind=kind, text=text, speaker="alice"
    )  # type: ignore[arg-type]
    return Trigger(
        stream_id="s",
        media_time=at,
        trigger_id="t",
        request=request,
        asked_at=at,
        evidence=evidence,
    )


def said(t0: float, t1: float, text: str, speaker: str = "bob", final: bool = True) -> Utterance:
    return Utterance(
        stream_id="s", media_time=t1, utterance_id=f"u{t0}", t0=t0, t1=t1, text=text,
        speaker=speaker, final=final,
    )  # fmt: skip


def answered(t: float, q: str, text: str, cancelled: bool = False) -> Response:
    return Response(
        stream_id="s", media_time=t, response_id=f"a{t}", request_id="q", question=q, text=text,
        asked_at=t, asked_wall=0.0, first_token_wall=0.0, done_wall=0.0, cancelled=cancelled,
    )  # fmt: skip


def user(trigger: Trigger, budget: int = 700, **memory: object) -> str:
    memory = {"observations": (), "utterances": (), "answers": ()} | memory
    messages = build_messages(trigger, budget_tokens=budget, **memory)  # type: ignore[arg-type]
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == system_prompt()
    return messages[1].content


def test_observation_lines_carry_fields() -> None:
    o = obs(12.0, 4, faces=1, text=("EXIT", "NO ENTRY"), colours=("grey", "red", "blue"))
    assert observation_line(o) == (
        "4 people, 1 face; text: 'EXIT', 'NO ENTRY'; mostly grey and red, some blue"
    )
    assert observation_line(obs(1.0, 1)) == "1 person, 0 faces"
    caption = obs(1.0, 0, description="a red bus stops at the kerb")
    assert observation_line(caption).endswith("a red bus stops at the kerb")
    detector = obs(1.0, 2, description="2 people; little motion")
    assert observation_line(detector) == "2 people, 0 faces", (
        "the detectors' summary is not repeated"
    )


def test_question_prompt_has_timeline_now_and_question() -> None:
    observations = [obs(t, 3 if t < 8 else 4, text=("EXIT",) if t >= 10 else ()) for t in range(15)]
    prompt = user(
        question("How many people are walking?", 14.0),
        observations=observations,
        utterances=[
            said(10.0, 11.5, "Look, more people are coming.", "bob"),
            said(12.5, 14.0, "How many people are walking?", "alice"),
        ],
        answers=[
            answered(2.0, "What colour is it?", "It is mostly green."),
            answered(5.0, "Is anyone there?", "Yes, 3 people are visible."),
        ],
    )
    assert "t=0.0-9.0s seen: 3-4 people, 0 faces" in prompt, "a count that changes keeps a span"
    latest = "Your latest answer (t=5.0s), to 'Is anyone there?': Yes, 3 people are visible."
    assert latest in prompt, "the latest answer is given with the request, for a follow-up"
    assert "mostly green" not in prompt, "older answers of the agent's are no record"
    assert prompt.index("Now (t=14.0s)") < prompt.index(latest) < prompt.index("Question from")
    assert "t=10.0-11.5s bob said: Look, more people are coming." in prompt
    assert prompt.count("How many people are walking?") == 1, "the question is not repeated"
    assert "Now (t=14.0s): 4 people, 0 faces; text: 'EXIT'" in prompt
    assert prompt.rstrip().endswith(
        "Question from alice at t=14.0s: How many people are walking?\n"
        "Answer in one short sentence."
    )


def test_now_line_takes_the_highest_recent_count() -> None:
    observations = [obs(float(t), 4) for t in range(10)] + [obs(10.0, 3)]
    assert now_line(observations).startswith("4 people"), "one missed person does not decide"
    assert now_line([obs(0.0, 2), obs(1.0, 3)]).startswith("3 people")
    assert now_line([obs(0.0, 5), obs(9.0, 2)]).startswith("2 people"), "old frames do not count"


def test_nothing_after_the_question_enters() -> None:
    prompt = user(
        question("How many?", 10.0),
        observations=[obs(9.0, 2), obs(10.0, 2), obs(30.0, 9)],
        utterances=[said(20.0, 21.0, "later words")],
        answers=[answered(25.0, "q", "a later answer")],
    )
    assert "9 people" not in prompt and "later" not in prompt
    assert "Now (t=10.0s): 2 people" in prompt


def test_partial_and_cancelled_items_are_left_out() -> None:
    prompt = user(
        question("What?", 10.0),
        utterances=[said(1.0, 2.0, "half a wor", final=False)],
        answers=[answered(3.0, "q", "an interrupted", cancelled=True)],
    )
    assert "wor" not in prompt and "interrupted" not in prompt
    assert "Now (t=10.0s): nothing seen yet" in prompt


def test_instruction_names_what_happened() -> None:
    trigger = question(
        "Tell me when someone walks in.", 14.0, "instruction", "4 people are visible (was 3)."
    )
    prompt = user(trigger, observations=[obs(13.0, 3), obs(14.0, 4)])
    assert 'Instruction from alice: "Tell me when someone walks in."' in prompt
    assert "What just happened, at t=14.0s: 4 people are visible (was 3)." in prompt
    assert "Question" not in prompt


def test_budget_drops_the_oldest_and_keeps_the_latest() -> None:
    observations = [obs(float(t), 5, text=(f"N{t % 7}",)) for t in range(300)]
    utterances = [said(t, t + 1.0, f"remark {t}") for t in range(0, 300, 10)]
    for budget in (400, 500, 700):
        messages = build_messages(
            question("How many?", 299.0),
            observations=observations,
            utterances=utterances,
            answers=(),
            budget_tokens=budget,
        )
        total = sum(approx_tokens(m.content) for m in messages)
        assert total <= budget
        content = messages[1].content
        assert "t=299.0s seen: 5 people" in content, "the latest observation stays"
        assert "t=0.0s seen" not in content
        assert budget < 700 or "remark 290" in content  # the index takes ~100 tokens
    tiny = user(question("How many?", 299.0), budget=64, observations=observations)
    assert "t=299.0s seen: 5 people" in tiny and "t=298.0s" not in tiny


def test_over_budget_the_start_stays_put_between_questions() -> None:
    """The cut falls on a time grid (30 s where the budget holds minutes), so the next prompt
    repeats the previous one's start."""
    observations = [obs(float(t), 2, text=(f"N{t // 4 % 3}",)) for t in range(400)]
    starts = set()
    for asked in (300.0, 301.0, 302.0, 303.0, 306.0):
        prompt = user(question("How many?", asked), budget=500, observations=observations)
        starts.add(prompt.splitlines()[1])
    assert len(starts) == 1, starts


def test_a_busy_scene_moves_the_start_in_steps_not_with_every_line() -> None:
    """A line a second: the budget holds less than the 30 s grid, so the grid is finer, and the
    start still stays put over several lines (a window that slid with every line was read cold
    each time)."""
    observations = [obs(float(t), 2, text=(f"N{t % 3}",)) for t in range(400)]
    firsts = []
    for asked in range(300, 340):
        prompt = user(question("How many?", float(asked)), observations=observations)
        firsts.append(prompt.splitlines()[1])
        assert f"t={asked:.1f}s seen" in prompt, "the latest line is always there"
    moves = [i for i in range(1, len(firsts)) if firsts[i] != firsts[i - 1]]
    assert moves and all(b - a >= 4 for a, b in itertools.pairwise(moves)), moves
    again = user(question("How many?", 339.0), observations=observations)
    assert again.splitlines()[1] == firsts[-1], "the same prompt whenever it is built"


def test_consecutive_prompts_share_a_prefix() -> None:
    observations = [obs(float(t), 2, colours=("red" if t < 20 else "blue",)) for t in range(40)]
    first = user(question("How many?", 30.0), observations=observations)
    second = user(question("What colour?", 39.0), observations=observations)
    shared = first.index("t=20.0-")  # the last span grows; everything before it is the same
    assert first[:shared] == second[:shared]
    assert "t=0.0-19.0s seen: 2 people, 0 faces; mostly red" in first[:shared]


def test_approx_tokens_counts_digits_words_and_marks() -> None:
    # Qwen's tokenizer gives 27 and 18 tokens for these.
    assert 25 <= approx_tokens("t=12.0-14.5s seen: 4 people, 0 faces; text: 'EXIT'") <= 32
    assert 17 <= approx_tokens("t=12.5s alice said: How many people are walking over there?") <= 22


def test_the_prefix_evaluated_ahead_is_where_the_prompt_starts() -> None:
    observations = [obs(float(t), 3, colours=("red" if t < 8 else "blue",)) for t in range(14)]
    utterances = [said(12.5, 13.5, "How many people are there?", "alice")]
    prefix = build_prefix(observations=observations, utterances=[], budget_tokens=700)
    messages = build_messages(
        question("How many people are there?", 13.5),
        observations=observations,
        utterances=utterances,
        answers=(),
        budget_tokens=700,
    )
    assert prefix[0] == messages[0]
    assert prefix[1].content.startswith("Timeline:\nt=0.0-7.0s seen: 3 people")
    assert messages[1].content.startswith(prefix[1].content + "\nt=8.0-13.0s seen: 3 people")
    # what changes with every frame (the newest span, the "Now" line) is left to the request
    assert "t=8.0-13.0s" not in prefix[1].content and "Now (" not in prefix[1].content


def test_a_long_request_does_not_move_the_timelines_cut() -> None:
    seen, heard = long_day()
    prefix = build_prefix(observations=seen, utterances=heard, budget_tokens=700)
    pasted = "Given all of this, " + "and what came before it, " * 40 + "what changed?"
    messages = build_messages(
        question(pasted, 599.0), observations=seen, utterances=heard, answers=(), budget_tokens=700
    )
    assert messages[1].content.startswith(prefix[1].content)


def long_day() -> tuple[list[Observation], list[Utterance]]:
    """Ten minutes of a changing street; Carlos names the room early, a sign shows at 20 s."""
    seen = [
        obs(
            float(t),
            t % 7,
            text=("GATE 14",) if 20 <= t < 26 else (),
            colours=("grey" if t // 5 % 2 else "white",),
        )
        for t in range(600)
    ]
    heard = [
        said(40.0, 43.0, "The meeting moved to room twelve.", speaker="Carlos"),
        said(50.0, 52.0, "I will bring the slides.", speaker="Dana"),
    ]
    return seen, heard


def test_evidence_older_than_the_window_is_chosen_by_the_question() -> None:
    seen, heard = long_day()
    text = user(
        question("Which room did Carlos say the meeting moved to?", 590.0),
        observations=seen, utterances=heard,
    )  # fmt: skip
    timeline, request = text.split("Earlier notes about this:\n")
    assert "Carlos said" not in timeline, "the window holds only the last minutes"
    assert "t=40.0-43.0s Carlos said: The meeting moved to room twelve." in request
    assert "Dana" not in request  # chosen by the question, not by age


def test_evidence_for_options_names_every_sighting_in_time_order() -> None:
    seen, heard = long_day()
    trigger = question(
        "What did the sign say?\nOptions:\nA. GATE 4\nB. GATE 14\nC. EXIT\nD. ROOM 12", 590.0
    )
    messages = build_messages(
        trigger,
        observations=seen,
        utterances=heard,
        answers=(),
        budget_tokens=700,
        choices=parse_choices(trigger.request.text),
    )
    text = messages[1].content
    assert "Timeline:" not in text, "a question with options reads notes chosen for it"
    notes = text.split("Notes:\n")[1].split("\n\n")[0]
    assert notes.index("text: 'GATE 14'") < notes.index("Carlos said")
    assert "Dana" not in notes


def test_no_evidence_block_when_everything_fits() -> None:
    seen, heard = long_day()
    text = user(
        question("Which room did Carlos say the meeting moved to?", 60.0),
        observations=seen[:60], utterances=heard,
    )  # fmt: skip
    assert "Earlier notes" not in text and "Carlos said" in text


def test_the_same_words_said_earlier_stay_in_the_timeline() -> None:
    """Only the utterance that is the question leaves the timeline: taking out every earlier
    one with the same words made the prompt differ from the prefix read before it."""
    observations = [obs(float(t), 2) for t in range(20)]
    earlier = said(2.0, 3.0, "What does the sign say?", "alice")
    now = said(18.0, 19.0, "What does the sign say?", "alice")
    prompt = user(question("What does the sign say?", 19.0), observations=observations,
                  utterances=[earlier, now])  # fmt: skip
    assert "t=2.0-3.0s alice said: What does the sign say?" in prompt
    assert "t=18.0-19.0s" not in prompt
