"""From memory to a chat prompt, within a token budget.

The default LLM reads text only, and it is small (1.5B): the prompt must be short, factual and
ordered so that the answer is one lookup away. Hence:

- observations become one line each, with their media time; consecutive ones that read the
  same text and colours merge into one span, with the range of people counted over it
  ("t=10.0-14.0s seen: 3-5 people, 0 faces; text: 'EXIT'"), which keeps long scenes cheap and
  makes what changed (a sign, a colour) stand out from detector noise;
- a "Now" line right above the question gives the state at the time of the question, with the
  highest person count over the last few seconds: perception's tracker already keeps one-frame
  false hits out of its counts, so what remains is mostly people missed in a frame (occluded,
  far away), and one such frame must not decide the answer to "how many people are walking?";
- what was seen and said goes into one timeline, oldest first, so that a later prompt repeats
  an earlier one and only appends: llama.cpp's prefix cache then evaluates just the new tail
  (on 2 cores, a cold 800-token prompt costs seconds, a warm one a fraction of a second);
- the agent's own answers are not in the timeline: only its latest answer is given, with the
  request, for a follow-up ("why do you say that?"). A small model copies an earlier answer
  of its own to a similar question (after "What word was on the card Bob showed?": PENGUIN,
  "What word was on Carol's card?" got PENGUIN too), and an answer is a guess, not a record;
  kept out of the timeline, answers also never invalidate the cached prefix;
- over budget, the oldest lines go first, whatever their kind, cut on a time grid (finer for
  a busy scene) so that the cached prefix survives; the latest observation always stays;
- the system prompt never changes, so it is cached even across streams.

Nothing seen or said after the question (plus a little slack) enters the prompt: an unpaced
evaluation may have run ahead of it, and the answer must not know the future.

What fell out of the window is not lost: lines the question names (a speaker, a word read on a
sign) are chosen from the whole timeline (:mod:`reaction.evidence`) and put after the state,
with the request, where they do not disturb the cached prefix. An index of every text read
and every voice heard (:mod:`reaction.index`) sits above the "Now" line.

A question with options reads a different, shorter prompt: notes chosen from the whole
timeline by the question and its options, the index, the "Now" line and the options. It cannot
be evaluated ahead of time, but it is about 300 tokens, and a small model picks the right
option more often from it (see ``_focused``).
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from reaction.backends.base import ChatMessage
from reaction.choices import Choices
from reaction.evidence import select_evidence
from reaction.index import index_lines
from vigil.items import Observation, Request, Response, Trigger, Utterance

__all__ = [
    "EVIDENCE_TOKENS",
    "FOCUS_TOKENS",
    "GRID",
    "LOOKAHEAD",
    "RECENT",
    "REQUEST_RESERVE",
    "SAME_ASKING",
    "approx_tokens",
    "asks",
    "build_messages",
    "build_prefix",
    "load_prompt",
    "now_line",
    "observation_line",
    "recorded",
    "system_prompt",
]

LOOKAHEAD = 0.5
"""Seconds after the question whose observations and speech still describe "then"."""
RECENT = 2.5
"""Seconds over which the "Now" line takes the highest count (three frames at 1 Hz)."""


SAME_ASKING = 1.0
"""Seconds between an utterance's end and a request with its words within which they are one
asking (perception's and the decision stage's clocks for one utterance agree to far less)."""
GRID = 30.0
"""Seconds: over budget, the timeline starts at a multiple of a grid of at most this (see
``_fit``). Each jump of the start means evaluating the whole prompt again, so the grid is
coarse: a jump drops up to a grid step of the oldest lines at once, and the prefix then stays
put for about as long."""


REQUEST_RESERVE = 80
"""Tokens kept for the request's own lines ("Now", the question, the instruction)."""
FOCUS_TOKENS = 300
"""Tokens of notes chosen by the question for a question with options (see ``_focused``)."""
EVIDENCE_TOKENS = 160
"""Tokens given to evidence from before the window (on top of the budget: it is read only
when a question needs it)."""
_HEADING = "Timeline:"
_PIECES = re.compile(r"\d|[^\W\d_]+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """A token estimate close to Qwen's: each digit, word and punctuation mark is one token
    (about 1.9 characters per token on observation lines, 4.4 on prose); 10% on top."""
    return len(_PIECES.findall(text)) * 11 // 10 + 1


@functools.cache
def load_prompt(name: str) -> str:
    """A prompt template shipped in ``reaction/prompts`` (``system``, ``question``, ...)."""
    return (resources.files("reaction") / "prompts" / f"{name}.txt").read_text().strip()


def system_prompt() -> str:
    return load_prompt("system")


_DETECTOR_SUMMARY = re.compile(r"(no people|\d+ (person|people))\b")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def observation_line(observation: Observation, *, people: int | None = None) -> str:
    """What one observation saw, without its time (``people`` overrides the count).

    The line is rebuilt from the fields, without motion, so that frames of one scene read the
    same and merge. A description that is more than the detectors' summary (a caption from a
    richer encoder) is kept at the end.
    """
    o = observation
    parts = [
        f"{_count(o.people if people is None else people, 'person', 'people')}, "
        f"{_count(o.faces, 'face', 'faces')}"
    ]
    if o.text:
        parts.append("text: " + ", ".join(repr(line) for line in o.text[:3]))
    if o.colours:  # perception names up to three, most of the picture first
        some = f", some {o.colours[2]}" if len(o.colours) > 2 else ""
        parts.append("mostly " + " and ".join(o.colours[:2]) + some)
    if o.description and not _DETECTOR_SUMMARY.match(o.description):
        parts.append(o.description)
    return "; ".join(parts)


def now_line(observations: Sequence[Observation], *, recent: float = RECENT) -> str:
    """The latest state, with the highest person count over the last ``recent`` seconds."""
    latest = observations[-1]
    window = [o for o in observations if o.media_time >= latest.media_time - recent]
    return observation_line(latest, people=max(o.people for o in window))


def _scene(observation: Observation) -> str:
    """What a span of the timeline keeps constant: everything but the people count."""
    return observation_line(observation, people=0)


def _span_line(run: Sequence[Observation]) -> str:
    """One span's line: the first observation's, with the range of people counted."""
    low, high = min(o.people for o in run), max(o.people for o in run)
    line = observation_line(run[0], people=high)
    if low == high:
        return line
    return line.replace(_count(high, "person", "people"), f"{low}-{high} people", 1)


@dataclass(frozen=True, slots=True)
class _Line:
    time: float
    text: str


def _timeline(seen: Sequence[Observation], heard: Sequence[Utterance]) -> list[_Line]:
    """Everything in time order; runs of identical observations merge into one span.

    A run ends at any other event, so that a new event only ever appends lines (or extends the
    last span): consecutive prompts then share everything but their tail.
    """
    events: list[tuple[float, int, Observation | Utterance]] = [
        *((o.media_time, 0, o) for o in seen),
        *((u.t1, 1, u) for u in heard),
    ]
    events.sort(key=lambda event: (event[0], event[1]))
    lines: list[_Line] = []
    run: list[Observation] = []

    def flush() -> None:
        if run:
            t0, t1 = run[0].media_time, run[-1].media_time
            when = f"t={t0:.1f}s" if len(run) == 1 else f"t={t0:.1f}-{t1:.1f}s"
            scene = "new scene, " if run[0].scene_change else ""
            lines.append(_Line(t1, f"{when} seen: {scene}{_span_line(run)}"))
            run.clear()

    for _, _, item in events:
        if isinstance(item, Observation):
            if run and (item.scene_change or _scene(item) != _scene(run[0])):
                flush()
            run.append(item)
            continue
        flush()
        when = f"t={item.t0:.1f}-{item.t1:.1f}s"
        lines.append(_Line(item.t1, f"{when} {item.speaker} said: {item.text.strip()}"))
    flush()
    return lines


def _grid(lines: list[_Line], costs: list[int], left: int) -> float:
    """The grid for ``_fit``: ``GRID``, or finer where ``left`` tokens hold less than twice
    that (a busy scene writes a line a second): a power of two seconds within half of what
    they hold on average over the whole timeline, which moves little from one prompt to the
    next."""
    span = lines[-1].time - lines[0].time
    held = span * left / max(1, sum(costs))
    return min(GRID, 2.0 ** math.floor(math.log2(max(held / 2, 1.0))))


def _fit(lines: list[_Line], left: int, count: Callable[[str], int]) -> list[_Line]:
    """The newest lines that fit in ``left`` tokens, cut at a multiple of a grid (``_grid``).

    Cutting on a grid keeps the first line (and so the cached prefix) the same from one prompt
    to the next, until the lines since the cut no longer fit; the cut then jumps one step. The
    cut depends only on the lines, so a prompt is the same whenever it is built. A grid
    wider than what the budget holds had no step inside the window: on a busy scene the window
    slid with every line and each prompt was read cold (in the soak, the first token went from
    2 s to 8-11 s); hence the finer grid there, halved again if a step still falls past the
    newest line.
    """
    costs = [count(line.text) + 1 for line in lines]
    first, total = len(lines), 0
    while first > 0 and total + costs[first - 1] <= left:
        first -= 1
        total += costs[first]
    first = min(first, len(lines) - 1)  # the latest line stays, whatever it costs
    if first <= 0:
        return lines
    times = [line.time for line in lines]
    grid = _grid(lines, costs, left)
    while grid >= 1.0:
        at = bisect.bisect_left(times, math.ceil(lines[first].time / grid) * grid, lo=first)
        if at < len(lines):
            return lines[at:]
        grid /= 2
    return lines[first:]


def build_messages(
    trigger: Trigger,
    *,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    answers: Sequence[Response],
    budget_tokens: int,
    recalled: Sequence[str] = (),
    choices: Choices | None = None,
    answer_with: str = "letter",
    count: Callable[[str], int] = approx_tokens,
) -> list[ChatMessage]:
    """A system message (always the same) and one user message within ``budget_tokens``.

    ``recalled`` (what long-term memory found in earlier sessions) and the evidence chosen from
    before the window go between the state and the request: they depend on the request, so
    they must not sit in the prefix that was evaluated ahead of time.

    With ``choices``, the question lists its options and asks for the option's letter
    (``answer_with="letter"``) or its text (``"text"``).

    The user message is the stream's state (timeline and "Now" line), then the request. A
    spoken question is not repeated in the timeline: it is stated below it, and leaving it
    out keeps the state the same as the one prefilled just before it was asked.
    """
    cutoff = trigger.asked_at + LOOKAHEAD
    request = trigger.request
    fields = {"speaker": request.speaker, "asked_time": f"{trigger.asked_at:.1f}s"}
    if request.kind == "instruction":
        template = load_prompt("instruction")
        fields |= {
            "instruction": request.text,
            "evidence": trigger.evidence.rstrip(".") or "the condition was met",
        }
    elif choices is not None:
        template = load_prompt(f"choice_{answer_with}")
        labels = [choices.label(i) for i in range(len(choices.options))]
        fields |= {
            "question": choices.stem,
            "options": "\n".join(labels),
            "letters": ", ".join(choices.letters[:-1]) + f" or {choices.letters[-1]}",
        }
    else:
        template = load_prompt("question")
        fields["question"] = request.text
    asked = template.format(**fields)
    if recalled:
        earlier = "\n".join(f"- {text.strip()}" for text in recalled)
        asked = f"From earlier sessions:\n{earlier}\n\n{asked}"
    seen = [o for o in observations if o.media_time <= cutoff]
    heard = [u for u in utterances if u.t1 <= cutoff and not asks(u, request)]
    if choices is not None:
        return _focused(request.text, asked, seen, heard, count=count, asked_at=trigger.asked_at)
    said = [a for a in answers if a.media_time <= cutoff and a.text and not a.cancelled]
    if said and request.kind != "instruction":
        last = max(said, key=lambda a: a.media_time)
        asked = (
            f"Your latest answer (t={last.media_time:.1f}s), to {last.question!r}: "
            f"{last.text.strip()}\n\n{asked}"
        )
    # A request longer than its reserve goes over the budget rather than cut the timeline
    # elsewhere than the prefix evaluated before it was asked (the context has room for it).
    state, older, _ = _state(
        seen, heard, budget_tokens=budget_tokens, count=count, asked_at=trigger.asked_at
    )
    if older and request.kind != "instruction":
        asked_before = f" said: {request.text.strip()}"  # the same question, no evidence
        older = [line for line in older if not line.text.endswith(asked_before)]
        found = select_evidence(request.text, older, budget_tokens=EVIDENCE_TOKENS, count=count)
        if found:
            lines = "\n".join(line.text for line in found)
            asked = f"Earlier notes about this:\n{lines}\n\n{asked}"
    return [ChatMessage("system", system_prompt()), ChatMessage("user", f"{state}\n\n{asked}")]


def _focused(
    question: str,
    asked: str,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    *,
    count: Callable[[str], int],
    asked_at: float,
) -> list[ChatMessage]:
    """The prompt for a question with options: notes chosen by the question, not the window.

    A small model choosing between four options does best on a short prompt that holds only
    what bears on them (measured on the dev split: 62% with the recent timeline and evidence
    appended, 67% with this); the cost is a cold prompt of about ``FOCUS_TOKENS`` plus the
    index, since notes chosen by the question cannot be evaluated ahead of it. The agent's
    own answers are left out: an earlier guess must not pass for something that was seen.
    """
    seen = sorted(observations, key=lambda o: o.media_time)
    heard = sorted((u for u in utterances if u.final and u.text.strip()), key=lambda u: u.t1)
    lines = _timeline(seen, heard)
    notes = select_evidence(question, lines, budget_tokens=FOCUS_TOKENS, count=count, limit=30)
    index = "\n".join(index_lines(seen, heard))
    state = (
        load_prompt("state")
        .format(
            context="\n".join(["Notes:", *(line.text for line in notes)]) if notes else "",
            index=f"\n{index}\n" if index else "",
            now_time=f"{seen[-1].media_time if seen else asked_at:.1f}s",
            now=now_line(seen) if seen else "nothing seen yet",
        )
        .strip()
    )
    return [ChatMessage("system", system_prompt()), ChatMessage("user", f"{state}\n\n{asked}")]


def asks(utterance: Utterance, request: Request) -> bool:
    """Whether ``utterance`` is the spoken request itself (it is stated below the notes, and
    it is no evidence for its own answer). The same words said earlier are other utterances:
    taking them out too would make the timeline differ from the prefix evaluated before the
    question, and a question repeated every loop was read cold every time."""
    return (
        abs(utterance.t1 - request.media_time) <= SAME_ASKING
        and utterance.text.strip() == request.text.strip()
    )


def recorded(
    until: float,
    *,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    since: float | None = None,
) -> list[str]:
    """The timeline lines of what was seen and heard up to media time ``until`` (from
    ``since``, when given), without budget or answers: what perception recorded."""
    seen = sorted(
        (
            o
            for o in observations
            if o.media_time <= until and (since is None or o.media_time >= since)
        ),
        key=lambda o: o.media_time,
    )
    heard = [
        u
        for u in utterances
        if u.final and u.t1 <= until and (since is None or u.t1 >= since) and u.text.strip()
    ]
    return [line.text for line in _timeline(seen, heard)]


def build_prefix(
    *,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    budget_tokens: int,
    count: Callable[[str], int] = approx_tokens,
) -> list[ChatMessage]:
    """The start that the next request's prompt will share, to evaluate ahead of time.

    It is :func:`build_messages` for a request asked after everything given, up to the newest
    line of its timeline: the system prompt and the settled timeline. A backend that caches
    prompt prefixes (llama.cpp, vLLM) then has only the rest to read when a request comes.

    The rest changes with nearly every frame: the newest span's end and count, the index's
    last-seen times, the "Now" line. Evaluated ahead, those lines were read again every
    second (about 100 tokens a second on a stream like the soak's, most of a core); read with
    the request, they are a few dozen tokens read once.
    """
    _, _, lines = _state(observations, utterances, budget_tokens=budget_tokens, count=count)
    settled = "\n".join([_HEADING, *(line.text for line in lines[:-1])]) if lines else ""
    return [ChatMessage("system", system_prompt()), ChatMessage("user", settled)]


def _state(
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    *,
    budget_tokens: int,
    count: Callable[[str], int],
    asked_at: float | None = None,
) -> tuple[str, list[_Line], list[_Line]]:
    """The timeline and the "Now" line (``asked_at`` stands in for "now" when nothing was
    seen yet), the older lines that did not fit, and the lines that did.

    The room left for the timeline does not depend on the request (a fixed
    ``REQUEST_RESERVE`` stands for the request's own lines), so a question and the prefix
    evaluated before it cut the timeline at the same line.
    """
    seen = sorted(observations, key=lambda o: o.media_time)
    now_time = seen[-1].media_time if seen else (asked_at or 0.0)
    heard = sorted((u for u in utterances if u.final and u.text.strip()), key=lambda u: u.t1)
    index = "\n".join(index_lines(seen, heard))
    left = budget_tokens - count(system_prompt()) - count(index) - REQUEST_RESERVE
    lines = _timeline(seen, heard)
    kept = _fit(lines, left, count)
    context = "\n".join([_HEADING, *(line.text for line in kept)]) if kept else ""
    state = load_prompt("state").format(
        context=context,
        index=f"\n{index}\n" if index else "",
        now_time=f"{now_time:.1f}s",
        now=now_line(seen) if seen else "nothing seen yet",
    )
    return state, lines[: len(lines) - len(kept)], kept
