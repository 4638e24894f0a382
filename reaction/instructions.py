"""The language model's part in standing instructions: compiling them, and checking the rest.

**Compiling.** The model reads an instruction and writes a :class:`~vigil.instructions.WatchSpec`
as JSON, constrained to the schema by the backend (a llama.cpp grammar, vLLM's structured
output, an OpenAI-compatible ``response_format``), after a few worked examples. A small model
can still put a word in the wrong clause or invent one, so what it writes is checked against
the instruction: every word, name and output it names must be in the instruction (a word to
watch for outside the output asked for), a colour must be named and be one perception
reports, and a clause of any kind needs words for that kind (a word said needs a verb of
saying or hearing, a people count a word for people). A clause that fails the check is
dropped; a spec with none left is no spec, and the rules or the model-checked ``other``
clause take the instruction.

**Checking.** An instruction that fits no clause ("tell me when someone starts cooking") is put
to the model with the stream's latest timeline: is it happening now, yes or no? The answer is
read as the log-probabilities of "yes" and "no", not as generated text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence

import numpy as np

from decision.rules import without_output
from reaction.backends.base import Backend, ChatMessage
from reaction.context import load_prompt
from vigil.instructions import COLOURS, SCHEMA, Clause, WatchSpec, normal_value

__all__ = ["EXAMPLES", "check_messages", "compile_instruction", "grounded", "says_yes"]

log = logging.getLogger(__name__)

EXAMPLES: tuple[tuple[str, str], ...] = (
    (
        "Tell me when the scoreboard shows the word FINAL",
        '[{"kind": "text_on_screen", "value": "FINAL", "count": 0}], "all", ""',
    ),
    (
        "Ping me once a green screen appears, and say 'go'",
        '[{"kind": "colour_on_screen", "value": "green", "count": 0}], "all", "go"',
    ),
    (
        "When more than two people are in the room, output 'crowd'",
        '[{"kind": "people_at_least", "value": "", "count": 3}], "all", "crowd"',
    ),
    (
        "Let me know when the hallway is empty",
        '[{"kind": "people_at_most", "value": "", "count": 0}], "all", ""',
    ),
    (
        "If somebody talks about pizza, reply pizza",
        '[{"kind": "speech_mentions", "value": "pizza", "count": 0}], "all", "pizza"',
    ),
    (
        "Notify me when Maria starts talking",
        '[{"kind": "person_speaks", "value": "Maria", "count": 0}], "all", ""',
    ),
    (
        "Whenever anyone asks a question, print Q",
        '[{"kind": "question_asked", "value": "", "count": 0}], "all", "Q"',
    ),
    (
        "Alert me if the camera cuts to another shot",
        '[{"kind": "scene_change", "value": "", "count": 0}], "all", ""',
    ),
    (
        "When the sign says OPEN or someone says open, output 'open'",
        '[{"kind": "text_on_screen", "value": "OPEN", "count": 0}, '
        '{"kind": "speech_mentions", "value": "open", "count": 0}], "any", "open"',
    ),
    (
        "When Tom speaks while the red light is on, write 'red'",
        '[{"kind": "person_speaks", "value": "Tom", "count": 0}, '
        '{"kind": "colour_on_screen", "value": "red", "count": 0}], "all", "red"',
    ),
    (
        "Tell me when someone waves at the camera",
        '[{"kind": "other", "value": "someone waves at the camera", "count": 0}], "all", ""',
    ),
    (
        "drop me a line when anyone brings up lunch",
        '[{"kind": "speech_mentions", "value": "lunch", "count": 0}], "all", ""',
    ),
    (
        "If a question is asked or somebody says stop, reply with HOLD ON",
        '[{"kind": "question_asked", "value": "", "count": 0}, '
        '{"kind": "speech_mentions", "value": "stop", "count": 0}], "any", "HOLD ON"',
    ),
    (
        "once the hall is completely empty type nobody home",
        '[{"kind": "people_at_most", "value": "", "count": 0}], "all", "nobody home"',
    ),
)
"""Worked examples (instruction, conditions / combine / output), written to cover every kind
once; none is taken from an evaluation set."""


def _example_json(conditions_combine_output: str) -> str:
    conditions, combine, output = json.loads(f"[{conditions_combine_output}]")
    return json.dumps({"conditions": conditions, "combine": combine, "output": output})


def compile_messages(instruction: str) -> list[ChatMessage]:
    """The prompt: the kinds, the worked examples as turns, then the instruction."""
    turns = [ChatMessage("system", load_prompt("compile"))]
    for text, answer in EXAMPLES:
        turns += [
            ChatMessage("user", f"Instruction: {text}"),
            ChatMessage("assistant", _example_json(answer)),
        ]
    return [*turns, ChatMessage("user", f"Instruction: {instruction}")]


_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _in(value: str, instruction: str) -> bool:
    """Whether every word of ``value`` is in the instruction (a plural or stem forgiven)."""
    said = _words(instruction)

    def found(word: str) -> bool:
        return any(
            word == s or s.startswith(word) or (len(s) >= 4 and word.startswith(s)) for s in said
        )

    return all(found(word) for word in _words(value))


def _original(value: str, instruction: str) -> str:
    """``value`` with the casing the instruction gives it ("PLATFORM", not "platform")."""
    match = re.search(re.escape(value), instruction, re.IGNORECASE)
    return match.group(0) if match else value


_SPEECH_CUE = (
    r"say|says|said|saying|mention\w*|talk\w*|speak\w*|spoke|spoken|utter\w*|hear\w*|word|words|"
    r"brings? up|brought up|comes? up|came up|discuss\w*|refer\w*|call\w* out|shout\w*|yell\w*|"
    r"scream\w*|whisper\w*|exclaim\w*|cr(?:y|ies|ied)|pronounc\w*|voice\w*|chat\w*|"
    r"conversation|topic|subject|ask\w*|mutter\w*|name-?drop\w*"
)
_PEOPLE_CUE = (
    r"people|person|persons|someone|somebody|anyone|anybody|man|men|woman|women|visitors?|"
    r"guests?|crowd|group|humans?|individuals?|pedestrians?|customers?|kids?|child|children|"
    r"students?|workers?|players?|figures?|audience|staff|employees?|shoppers?|passengers?|"
    r"folks|guys|heads|bodies|occupants?|attendees?|members?|patrons?|viewers?|spectators?|"
    r"nobody|no one|empty|vacant|deserted|alone|headcount|turnout"
)
_CUES: dict[str, re.Pattern[str]] = {
    kind: re.compile(rf"\b(?:{cue})\b", re.IGNORECASE)
    for kind, cue in {
        "speech_mentions": _SPEECH_CUE,
        "person_speaks": _SPEECH_CUE,
        "question_asked": r"questions?|ask\w*|inquir\w*|quer(?:y|ies)",
        "people_at_least": _PEOPLE_CUE,
        "people_at_most": _PEOPLE_CUE,
        "face_visible": r"faces?|faced",
        "scene_change": r"scenes?|shots?|cuts?|camera|angle|views?|switch\w*|transition\w*|footage|"
        r"feed|location|setting",
        "motion": r"mov\w*|motion|stir\w*|shift\w*|budg\w*|fidget\w*|wiggl\w*|activity|still",
    }.items()
}
"""Words without which a clause of that kind was not asked for: a small model reads "someone
sounds angry" as a word said and "a phone rings" as speech, and such a clause would fire on
the wrong thing while the instruction's real event went unwatched (it belongs to ``other``)."""


def _watched(instruction: str, output: str) -> str:
    """The instruction less the output it asks for, so that "write 'placard up'" does not
    also make "placard up" a text to watch for, nor "say RING" a word said."""
    rest = without_output(instruction)
    if rest != instruction or not output:  # the rules found the request and took it out
        return rest
    at = rest.lower().rfind(output.lower())
    return rest if at < 0 else rest[:at] + rest[at + len(output) :]


def grounded(spec: WatchSpec, instruction: str) -> WatchSpec | None:
    """``spec`` without what the instruction does not say (None when nothing is left)."""
    output = spec.output if spec.output and _in(spec.output, instruction) else ""
    watched = _watched(instruction, output)
    kept: list[Clause] = []
    for clause in spec.clauses:
        value = clause.value
        cue = _CUES.get(clause.kind)
        if cue is not None and not cue.search(watched):
            log.info("dropped %s: nothing in %r asks for it", clause.kind, instruction)
            continue
        if clause.kind in ("text_on_screen", "speech_mentions", "person_speaks"):
            if not _in(value, watched):
                log.info("dropped %s: %r is not in %r", clause.kind, value, watched)
                continue
            value = _original(value, instruction)
        if clause.kind == "colour_on_screen" and (
            value not in COLOURS
            or all(normal_value(clause.kind, word) != value for word in _words(instruction))
        ):
            continue
        kept.append(Clause(kind=clause.kind, value=value, count=clause.count))
    if not kept:
        return None
    return WatchSpec(
        clauses=tuple(kept),
        combine=spec.combine,
        output=_original(output, instruction) if output else "",
        source="model",
    )


async def compile_instruction(backend: Backend, instruction: str) -> WatchSpec | None:
    """The model's spec for ``instruction``, checked against its words; None when the model
    wrote nothing usable."""
    pieces = backend.stream(
        compile_messages(instruction), max_tokens=160, temperature=0.0, schema=SCHEMA
    )
    text = "".join([piece async for piece in pieces])
    try:
        spec = WatchSpec.from_json(_json_object(text), source="model")
    except (ValueError, TypeError) as error:
        log.warning("the model's reading of %r is not a spec (%s): %r", instruction, error, text)
        return None
    return grounded(spec, instruction)


def _json_object(text: str) -> str:
    """The outermost JSON object in ``text`` (a server that ignores the schema may wrap it)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise ValueError("no JSON object")
    return text[start : end + 1]


def check_messages(lines: Sequence[str], instruction: str, at: float) -> list[ChatMessage]:
    """The latest lines of the timeline and the yes/no question about ``instruction``."""
    notes = "\n".join(lines) or "nothing seen or heard yet"
    question = load_prompt("check").format(notes=notes, instruction=instruction, at=f"{at:.1f}s")
    return [ChatMessage("system", load_prompt("check_system")), ChatMessage("user", question)]


CHECK_MARGIN = 1.0
"""How much likelier (log-odds) "Yes" must be on the timeline than on no notes at all."""


async def says_yes(
    backend: Backend, messages: Sequence[ChatMessage], empty: Sequence[ChatMessage]
) -> bool:
    """Whether the model answers "Yes" to ``messages`` clearly more than to ``empty`` (the
    same question over no notes).

    A small model leans to one answer whatever the notes say (Qwen 1.5B to "No", by 1-2 in
    log-odds); measuring the lean on notes that hold nothing and asking for ``CHECK_MARGIN``
    beyond it (contextual calibration) keeps the verdict on what the notes add. A backend
    that cannot score is asked for the reply's first word instead.
    """
    if "first_token" not in backend.score_methods:
        reply = "".join([piece async for piece in backend.stream(messages, max_tokens=2)])
        return reply.strip().lower().startswith("yes")
    odds = [await _yes_odds(backend, asked) for asked in (messages, empty)]
    return odds[0] - odds[1] > CHECK_MARGIN


async def _yes_odds(backend: Backend, messages: Sequence[ChatMessage]) -> float:
    big_yes, yes, big_no, no = await backend.score(messages, ["Yes", "yes", "No", "no"])
    return float(np.logaddexp(yes, big_yes) - np.logaddexp(no, big_no))
