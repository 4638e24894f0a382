"""From memory to a chat prompt, within a token budget.

The default LLM reads text only, and it is small (0.5B): the prompt must be short, factual and
ordered so that the answer is one lookup away. Hence:

- observations become one line each, with their media time; identical consecutive lines merge
  into one span ("t=10.0-14.0s: 4 people, 0 faces"), which keeps long scenes cheap;
- a "Now" line right above the question gives the state at the time of the question, with the
  highest person count over the last few seconds: perception's tracker already keeps one-frame
  false hits out of its counts, so what remains is mostly people missed in a frame (occluded,
  far away), and one such frame must not decide the answer to "how many people are walking?";
- seen, said and answered go into one timeline, oldest first, so that a later prompt repeats an
  earlier one and only appends: llama.cpp's prefix cache then evaluates just the new tail
  (on 2 cores, a cold 800-token prompt costs seconds, a warm one a fraction of a second);
- over budget, the oldest lines go first, whatever their kind, cut on a time grid so that the
  cached prefix survives; the latest observation always stays;
- the system prompt never changes, so it is cached even across streams.

Nothing seen or said after the question (plus a little slack) enters the prompt: an unpaced
evaluation may have run ahead of it, and the answer must not know the future.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from reaction.backends.base import ChatMessage
from vigil.items import Observation, Response, Trigger, Utterance

__all__ = [
    "GRID",
    "LOOKAHEAD",
    "RECENT",
    "REQUEST_RESERVE",
    "approx_tokens",
    "build_messages",
    "build_prefix",
    "load_prompt",
    "now_line",
    "observation_line",
    "system_prompt",
]

LOOKAHEAD = 0.5
"""Seconds after the question whose observations and speech still describe "then"."""
RECENT = 2.5
"""Seconds over which the "Now" line takes the highest count (three frames at 1 Hz)."""


GRID = 30.0
"""Seconds: over budget, the timeline starts at a multiple of this (see ``_fit``). Each jump
of the start means evaluating the whole prompt again, so the grid is coarse: a jump drops up
to 30 s of the oldest lines at once, and the prefix then stays put for about as long."""
REQUEST_RESERVE = 80
"""Tokens kept for the request's own lines ("Now", the question, the instruction)."""
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
    if o.colours:
        parts.append("mostly " + " and ".join(o.colours[:2]))
    if o.description and not _DETECTOR_SUMMARY.match(o.description):
        parts.append(o.description)
    return "; ".join(parts)


def now_line(observations: Sequence[Observation], *, recent: float = RECENT) -> str:
    """The latest state, with the highest person count over the last ``recent`` seconds."""
    latest = observations[-1]
    window = [o for o in observations if o.media_time >= latest.media_time - recent]
    return observation_line(latest, people=max(o.people for o in window))


@dataclass(frozen=True, slots=True)
class _Line:
    time: float
    text: str


def _timeline(
    seen: Sequence[Observation], heard: Sequence[Utterance], said: Sequence[Response]
) -> list[_Line]:
    """Everything in time order; runs of identical observations merge into one span.

    A run ends at any other event, so that a new event only ever appends lines (or extends the
    last span): consecutive prompts then share everything but their tail.
    """
    events: list[tuple[float, int, Observation | Utterance | Response]] = [
        *((o.media_time, 0, o) for o in seen),
        *((u.t1, 1, u) for u in heard),
        *((a.media_time, 2, a) for a in said),
    ]
    events.sort(key=lambda event: (event[0], event[1]))
    lines: list[_Line] = []
    run: list[Observation] = []

    def flush() -> None:
        if run:
            t0, t1 = run[0].media_time, run[-1].media_time
            when = f"t={t0:.1f}s" if len(run) == 1 else f"t={t0:.1f}-{t1:.1f}s"
            scene = "new scene, " if run[0].scene_change else ""
            lines.append(_Line(t1, f"{when} seen: {scene}{observation_line(run[0])}"))
            run.clear()

    for _, _, item in events:
        if isinstance(item, Observation):
            if run and (item.scene_change or observation_line(item) != observation_line(run[0])):
                flush()
            run.append(item)
            continue
        flush()
        if isinstance(item, Utterance):
            when = f"t={item.t0:.1f}-{item.t1:.1f}s"
            lines.append(_Line(item.t1, f"{when} {item.speaker} said: {item.text.strip()}"))
        else:
            answered = f"t={item.media_time:.1f}s you answered {item.question!r}: {item.text}"
            lines.append(_Line(item.media_time, answered))
    flush()
    return lines


def _fit(lines: list[_Line], left: int, count: Callable[[str], int]) -> list[_Line]:
    """The newest lines that fit in ``left`` tokens, cut at a multiple of ``GRID`` seconds.

    Cutting on a grid keeps the first line (and so the cached prefix) the same from one prompt
    to the next, until the lines since the cut no longer fit; the cut then jumps one step.
    """
    costs = [count(line.text) + 1 for line in lines]
    first, total = len(lines), 0
    while first > 0 and total + costs[first - 1] <= left:
        first -= 1
        total += costs[first]
    first = min(first, len(lines) - 1)  # the latest line stays, whatever it costs
    if first <= 0:
        return lines
    cut = math.ceil(lines[first].time / GRID) * GRID
    snapped = [line for line in lines[first:] if line.time >= cut]
    return snapped if snapped and snapped[-1] is lines[-1] else lines[first:]


def build_messages(
    trigger: Trigger,
    *,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    answers: Sequence[Response],
    budget_tokens: int,
    recalled: Sequence[str] = (),
    count: Callable[[str], int] = approx_tokens,
) -> list[ChatMessage]:
    """A system message (always the same) and one user message within ``budget_tokens``.

    ``recalled`` (what long-term memory found in earlier sessions) goes between the state and
    the request: it depends on the request, so it must not sit in the prefix that was
    evaluated ahead of time.

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
    else:
        template = load_prompt("question")
        fields["question"] = request.text
    asked = template.format(**fields)
    if recalled:
        earlier = "\n".join(f"- {text.strip()}" for text in recalled)
        asked = f"From earlier sessions:\n{earlier}\n\n{asked}"
    # The request may take more than its reserve; the timeline then gives way.
    state = _state(
        [o for o in observations if o.media_time <= cutoff],
        [u for u in utterances if u.t1 <= cutoff and u.text.strip() != request.text.strip()],
        [a for a in answers if a.media_time <= cutoff],
        budget_tokens=budget_tokens - max(0, count(asked) - REQUEST_RESERVE),
        count=count,
        asked_at=trigger.asked_at,
    )
    return [ChatMessage("system", system_prompt()), ChatMessage("user", f"{state}\n\n{asked}")]


def build_prefix(
    *,
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    answers: Sequence[Response],
    budget_tokens: int,
    count: Callable[[str], int] = approx_tokens,
) -> list[ChatMessage]:
    """The start that the next request's prompt will share, to evaluate ahead of time.

    It is :func:`build_messages` for a request asked after everything given, cut just before
    the request: the system prompt, the timeline and the "Now" line. A backend that caches
    prompt prefixes (llama.cpp, vLLM) then has only the request left to read when it comes.
    """
    state = _state(observations, utterances, answers, budget_tokens=budget_tokens, count=count)
    return [ChatMessage("system", system_prompt()), ChatMessage("user", state)]


def _state(
    observations: Sequence[Observation],
    utterances: Sequence[Utterance],
    answers: Sequence[Response],
    *,
    budget_tokens: int,
    count: Callable[[str], int],
    asked_at: float | None = None,
) -> str:
    """The timeline and the "Now" line (``asked_at`` stands in for "now" when nothing was
    seen yet)."""
    seen = sorted(observations, key=lambda o: o.media_time)
    now_time = seen[-1].media_time if seen else (asked_at or 0.0)
    return load_prompt("state").format(
        context=_context(seen, utterances, answers, budget_tokens=budget_tokens, count=count),
        now_time=f"{now_time:.1f}s",
        now=now_line(seen) if seen else "nothing seen yet",
    )


def _context(
    seen: Sequence[Observation],
    utterances: Sequence[Utterance],
    answers: Sequence[Response],
    *,
    budget_tokens: int,
    count: Callable[[str], int],
) -> str:
    """The timeline block: what fits, oldest first.

    The room left for it does not depend on the request (a fixed ``REQUEST_RESERVE`` stands for
    the request's own lines), so a question and the prefix evaluated before it cut the
    timeline at the same line.
    """
    heard = [u for u in utterances if u.final and u.text.strip()]
    said = [a for a in answers if a.text and not a.cancelled]
    left = budget_tokens - count(system_prompt()) - REQUEST_RESERVE
    lines = _fit(_timeline(seen, heard, said), left, count)
    return "\n".join([_HEADING, *(line.text for line in lines)]) if lines else ""
