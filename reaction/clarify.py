"""The clarify loop: notice that a request could mean several things, ask, search, then answer.

It runs in rounds of one action each, ``search(query)``, ``ask(question)`` or
``answer(text, confidence)``, chosen by the model as JSON that the backend constrains to a
schema listing only the actions allowed this round:

- the request is looked up once before the first round (``look_first``), so that the loop
  starts from what the documents and memory hold, as a person would;
- while :func:`decision.ambiguity.assess` finds several plausible targets and no closed
  question has yet been answered yes (or with more than yes or no), ``answer`` is not allowed
  (when asking is): guessing is what this loop exists to prevent, and a "no" may only mean the
  person does not recall that detail; ``min_asks`` forces asks (InteractComp's forced mode);
  the last round allows only ``answer``;
- with candidates found, the answer is chosen among them, not written freely: the model scores
  each candidate's letter (as multiple choice is answered, :mod:`reaction.choices`), and each
  reply weighs in through the words of the asked detail that each candidate holds ("Did it
  open in 2015?" yes: the candidate that says 2015 gains; a no costs less than a yes gains).
  A small model writes a usable question and picks a letter well; it writes names and reads
  yes/no chains poorly;
- a ``search`` adds what it finds to what the prompt shows; the candidates chosen among stay
  those the request's own search found plausible;
- a question the person never answers ends the loop: the agent says what it would need rather
  than guess.

Every round is kept (:class:`Step`) for the log and the evaluation report.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from decision.ambiguity import AmbiguityOptions, Verdict, assess
from reaction.backends.base import Backend, ChatMessage
from reaction.context import load_prompt
from reaction.search import Searcher, keyword_overlap, search_all
from vigil.passages import STOP_WORDS, Found

if TYPE_CHECKING:  # the vLLM test environment has no memory store (pyarrow)
    from memory.embeddings import TextEmbedder

__all__ = [
    "MODES",
    "Asker",
    "ClarifyAgent",
    "ClarifyOptions",
    "LiveClarify",
    "Mode",
    "Outcome",
    "Step",
]

log = logging.getLogger(__name__)

Mode = Literal["answer_only", "search_only", "ask_only", "full", "forced_ask", "full_with_context"]
MODES: tuple[Mode, ...] = (
    "answer_only",
    "search_only",
    "ask_only",
    "full",
    "forced_ask",
    "full_with_context",
)
Asker = Callable[[str], Awaitable[str | None]]
"""Puts a closed question to the person; their reply, or None when none came in time."""

YES_WEIGHT = 3.0
"""How much a candidate gains per share of an asked detail's words it holds, when the reply
was yes: a direct yes about a detail outweighs the model's lean."""
NO_WEIGHT = 1.0
"""How much it loses when the reply was no. Less than a yes gains: a person who does not
recall a detail often says no rather than "I don't know", so a no rules nothing out alone."""
DECIDED = 1.0
"""How far ahead of the next one the replies must put a candidate for the loop to stop asking
(a "yes" to a question made of one candidate's detail puts it about 3 ahead)."""
QUESTION_WORDS = 25
"""Words a question of the model's may have: a longer one bundles details, and a person who
recalls one of them but not the others says no."""
DETAIL_QUESTION = "Is it the one with this detail: {detail}?"
CONTEXT_WEIGHT = 4.0
"""How much a candidate gains per share of the given context's words it holds."""
_LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClarifyOptions:
    """``max_rounds``: rounds at most, the last one an answer; ``min_asks`` / ``max_asks``:
    closed questions at least (forced mode) and at most; ``search`` / ``ask``: whether those
    actions exist; ``results``: passages kept per search; ``look_first``: search the request
    itself before the first round; ``max_tokens``: per action (room for 160 characters of text
    and the JSON around them: cut short, an action is not JSON and the loop falls back to the
    last action allowed)."""

    max_rounds: int = 10
    min_asks: int = 0
    max_asks: int = 4
    search: bool = True
    ask: bool = True
    results: int = 5
    look_first: bool = True
    max_tokens: int = 96
    ambiguity: AmbiguityOptions = field(default_factory=AmbiguityOptions)

    @classmethod
    def for_mode(cls, mode: Mode, **changes: object) -> ClarifyOptions:
        """The options of one evaluation mode (InteractComp's names); ``full_with_context``
        is ``answer_only`` given the context up front."""
        allowed = {
            "answer_only": (False, False),
            "search_only": (True, False),
            "ask_only": (False, True),
            "full": (True, True),
            "forced_ask": (True, True),
            "full_with_context": (False, False),
        }
        search, ask = allowed[mode]
        base = cls(search=search, ask=ask, min_asks=1 if mode == "forced_ask" else 0)
        return cls(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, **changes})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveClarify:
    """The loop in a running session: its ``options``, how long a question waits for its
    reply, whether typed questions may be asked back (not where they are scripted and nobody
    can reply), and what to search besides the session's memory (built where it runs, given the
    embedder that memory search uses too, so that one model serves both)."""

    options: ClarifyOptions
    ask_timeout: float = 60.0
    typed: bool = True
    searchers: Callable[[TextEmbedder], list[Searcher]] = lambda _: []


@dataclass(frozen=True, slots=True)
class Step:
    """One round: the action, its argument, and what came back."""

    action: str
    text: str
    result: str = ""
    confidence: int | None = None
    reply: str = ""
    """An ask's reply in the person's own words ("yes, the one on the roof"); ``result`` holds
    it read as yes, no or "i don't know"."""

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "text": self.text,
            "result": self.result,
            "confidence": self.confidence,
            "reply": self.reply,
        }


@dataclass(slots=True)
class Outcome:
    """How a request ended: ``answer`` (empty when the agent would not guess), ``confidence``
    0-100, every round, the ambiguity verdict, and what it would need when a question went
    unanswered (``needs``)."""

    answer: str
    confidence: int
    steps: list[Step]
    verdict: Verdict
    needs: str = ""

    @property
    def asks(self) -> int:
        return sum(step.action == "ask" for step in self.steps)

    @property
    def rounds(self) -> int:
        return sum(step.action != "look" for step in self.steps)

    @property
    def text(self) -> str:
        """What to tell the person."""
        return self.needs or self.answer


def _verdict(reply: str) -> str:
    """A reply read as yes, no or "i don't know" (a reply that is none of them, "the one on
    the roof", counts through its words alone)."""
    words = re.findall(r"[a-z']+", reply.lower())
    if words[:1] in (["yes"], ["yeah"], ["yep"], ["correct"], ["right"]):
        return "yes"
    if words[:1] in (["no"], ["nope"]) or words[:2] in (["it", "wasn't"], ["not", "that"]):
        return "no"
    return "i don't know"


class ClarifyAgent:
    """Runs the loop for one request at a time with ``backend`` and ``searchers``."""

    def __init__(
        self,
        backend: Backend,
        searchers: Sequence[Searcher] = (),
        options: ClarifyOptions | None = None,
    ) -> None:
        self.backend = backend
        self.searchers = list(searchers)
        self.options = options or ClarifyOptions()

    async def look(self, query: str) -> list[Found]:
        """Every searcher's passages for ``query``, best first."""
        return await search_all(self.searchers, query, self.options.results)

    def ambiguous(self, request: str, found: Sequence[Found]) -> bool:
        """Whether ``request`` needs a question back, given what a search for it found."""
        return assess(request, found, self.options.ambiguity).ambiguous

    async def run(
        self,
        request: str,
        *,
        asker: Asker | None = None,
        context: str = "",
        found: Sequence[Found] | None = None,
    ) -> Outcome:
        """Take rounds until an answer (or an unanswered question) ends them. ``found``: what
        a search for the request already returned (else it is looked up first, as
        ``look_first`` says)."""
        o = self.options
        steps: list[Step] = []
        pool: list[Found] = []
        verdict = Verdict(False, "not searched")
        if found is None and o.look_first and self.searchers:
            found = await self.look(request)
        if found is not None:
            pool = list(found)
            verdict = assess(request, pool, o.ambiguity)
            steps.append(Step("look", request, f"{len(pool)} found; {verdict.reason}"))
        for number in range(o.max_rounds):
            allowed = self._allowed(number, steps, verdict, asker)
            action, text, confidence = await self._act(
                request, context, steps, verdict, pool, allowed
            )
            if action == "search":
                more = await self.look(text)
                known = {f.line() for f in pool}
                pool += [f for f in more if f.line() not in known]
                steps.append(Step("search", text, "; ".join(f.title for f in more[:3])))
            elif action == "ask":
                assert asker is not None
                question = self._question(text, steps, verdict)
                reply = await asker(question)
                if reply is None:
                    steps.append(Step("ask", question, "(no reply)"))
                    return Outcome("", 0, steps, verdict, needs=self._needs(verdict))
                steps.append(Step("ask", question, _verdict(reply), reply=reply))
            else:
                answer, sure = await self._answer(
                    request, context, steps, verdict, text, confidence
                )
                steps.append(Step("answer", answer, confidence=sure))
                return Outcome(answer, sure, steps, verdict)
        raise AssertionError("the last round allows only an answer")

    def _allowed(
        self, number: int, steps: list[Step], verdict: Verdict, asker: Asker | None
    ) -> list[str]:
        o = self.options
        if number >= o.max_rounds - 1:
            return ["answer"]
        asks = [s for s in steps if s.action == "ask"]
        can_ask = o.ask and asker is not None and len(asks) < o.max_asks
        if can_ask and len(asks) < o.min_asks:
            return ["ask"]
        settled = any(s.result == "yes" or _told(s.reply) for s in asks)
        if settled and _decided(verdict.candidates, steps):
            return ["answer"]
        searched = any(s.action == "search" for s in steps)
        allowed = ["search"] if o.search and self.searchers and not searched else []
        if can_ask:
            allowed.append("ask")
        if not (verdict.ambiguous and can_ask and not settled):
            allowed.append("answer")
        return allowed

    async def _act(
        self,
        request: str,
        context: str,
        steps: list[Step],
        verdict: Verdict,
        pool: list[Found],
        allowed: list[str],
    ) -> tuple[str, str, int]:
        """The model's action among ``allowed``, its text and its confidence. An answer that
        is the only choice, with candidates to choose from, needs no generation."""
        if allowed == ["answer"] and (verdict.candidates or pool):
            return "answer", "", 0
        schema = {
            "type": "object",
            "properties": {
                "action": {"enum": allowed},
                "text": {"type": "string", "maxLength": 160},
                "confidence": {"type": "integer"},
            },
            "required": ["action", "text", "confidence"],
        }
        prompt = load_prompt("clarify_round").format(
            request=request,
            known=f"What they told you: {context}" if context else "",
            found=self._found(verdict, pool),
            asked=_asked(steps) or "nothing yet",
            allowed=", ".join(allowed),
        )
        messages = [
            ChatMessage("system", load_prompt("clarify_system")),
            ChatMessage("user", prompt),
        ]
        pieces = self.backend.stream(messages, max_tokens=self.options.max_tokens, schema=schema)
        raw = "".join([piece async for piece in pieces])
        try:
            start, end = raw.find("{"), raw.rfind("}")
            data = json.loads(raw[start : end + 1])
            action, text = str(data["action"]), str(data.get("text", "")).strip()
            confidence = int(data.get("confidence", 50))
        except (ValueError, KeyError, TypeError):
            # not the text itself: it may quote a benchmark question that must not be printed
            log.warning("the model's action is not JSON (%d characters)", len(raw))
            action, text, confidence = allowed[-1], "", 50
        if action not in allowed:  # a server that ignores the schema
            action = allowed[-1]
        return action, text, max(0, min(100, confidence))

    def _found(self, verdict: Verdict, pool: list[Found]) -> str:
        shown = list(verdict.candidates) or pool[: self.options.results]
        if not shown:
            return "nothing yet"
        lines = []
        for letter, found in zip(_LETTERS, shown, strict=False):
            differs = verdict.differences.get(found.line(), ())
            extra = f" (only this one: {'; '.join(differs)})" if differs else ""
            lines.append(f"{letter}. {found.line()}{extra}")
        return "\n".join(lines)

    def _question(self, text: str, steps: list[Step], verdict: Verdict) -> str:
        """A question made of a detail that tells the candidates apart, taking each
        candidate's in turn; where none is known (nothing searched, as on InteractComp
        offline), the model's own question. A small model, shown the details, still asks for
        the name ("was it X or Y?"), which the person does not remember, restates the request,
        or bundles several details, of which a person who recalls one says no."""
        asked = {s.text.lower()[:60] for s in steps if s.action == "ask"}
        rounds = itertools.zip_longest(*verdict.differences.values())  # A's first, B's first...
        for detail in (d for row in rounds for d in row if d):
            made = DETAIL_QUESTION.format(detail=detail)
            if made.lower()[:60] not in asked:
                return made
        question = text.strip().rstrip(".")
        question = question if not question or question.endswith("?") else question + "?"
        titles = [f.title.lower().removeprefix("the ") for f in verdict.candidates if f.names]
        if (
            question
            and len(question.split()) <= QUESTION_WORDS
            and question.lower()[:60] not in asked
            and not any(t and t in question.lower() for t in titles)
        ):
            return question
        return "Can you tell me one more detail about it?"

    async def _answer(
        self,
        request: str,
        context: str,
        steps: list[Step],
        verdict: Verdict,
        text: str,
        confidence: int,
    ) -> tuple[str, int]:
        """The answer and its confidence: a candidate when there are some, else the model's
        text and the confidence it stated."""
        candidates = list(verdict.candidates)
        if not candidates:
            return (text, confidence) if text else ("I could not find it.", 0)
        options = "\n".join(
            f"{letter}. {found.line()}" for letter, found in zip(_LETTERS, candidates, strict=False)
        )
        prompt = load_prompt("clarify_choice").format(
            request=request,
            known=f"What they told you: {context}" if context else "",
            asked=_asked(steps) or "nothing",
            options=options,
        )
        letters = list(_LETTERS[: len(candidates)])
        messages = [
            ChatMessage("system", load_prompt("clarify_system")),
            ChatMessage("user", prompt),
        ]
        if "first_token" in self.backend.score_methods:
            scores = await self.backend.score(messages, letters)
        else:
            scores = [0.0] * len(candidates)
        common = _shared_words(candidates)
        for index, found in enumerate(candidates):
            scores[index] += _evidence(found, steps, context, common)
        best = max(range(len(candidates)), key=scores.__getitem__)
        total = sum(math.exp(s - scores[best]) for s in scores)
        sure = round(100 / total)
        chosen = candidates[best]
        if chosen.names:
            return chosen.title, sure
        return await self._extract(request, chosen, steps), sure

    async def _extract(self, request: str, found: Found, steps: list[Step]) -> str:
        """What a passage that names nothing in its title (a line someone said) answers,
        read with the replies: one line may hold both readings ("dinner on the 12th and
        drinks on the 20th")."""
        asked = _asked(steps)
        prompt = load_prompt("clarify_extract").format(
            request=request,
            asked=f"What they answered:\n{asked}\n" if asked else "",
            passage=found.line(),
        )
        pieces = self.backend.stream([ChatMessage("user", prompt)], max_tokens=16, stop=["\n"])
        text = "".join([piece async for piece in pieces]).strip().strip(".\"'")
        return text or found.line()

    def _needs(self, verdict: Verdict) -> str:
        """What the agent would need, said instead of a guess."""
        if not verdict.candidates:
            return "I got no reply, so I did not guess: tell me more about what you mean."
        parts = []
        for found in verdict.candidates:
            details = verdict.differences.get(found.line(), ())
            parts.append(
                f"{found.title or found.text}" + (f" ({'; '.join(details)})" if details else "")
            )
        return (
            "I got no reply, so I did not guess. It could be "
            + " or ".join(parts)
            + ": tell me which of those details fits, and ask again."
        )


def _asked(steps: list[Step]) -> str:
    return "\n".join(f"- {s.text} {s.reply or s.result}" for s in steps if s.action == "ask")


def _shared_words(candidates: Sequence[Found]) -> frozenset[str]:
    """Words every candidate holds: a question about them tells none apart."""
    if len(candidates) < 2:
        return frozenset()
    return frozenset.intersection(*(frozenset(_words(f.line())) for f in candidates))


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z0-9][a-z0-9'-]*", text.lower())}


_FRAME = _words(DETAIL_QUESTION) | {w.rstrip("s") for w in STOP_WORDS}
"""Words of a question that tell nothing: its frame and stop words."""


def _backing(question: str, line: str, common: frozenset[str]) -> float:
    """The share of the asked detail's telling words (not the question's frame, not what
    every candidate holds) that ``line`` holds."""
    wanted = _words(question) - _FRAME - common
    return len(wanted & _words(line)) / len(wanted) if wanted else 0.0


def _evidence(
    found: Found, steps: list[Step], context: str, common: frozenset[str] = frozenset()
) -> float:
    """How much the person's replies (and any context given) back ``found``."""
    told = [context] if context else []
    score = 0.0
    for step in steps:
        if step.action != "ask":
            continue
        if step.result in ("yes", "no"):
            weight = YES_WEIGHT if step.result == "yes" else -NO_WEIGHT
            score += weight * _backing(step.text, found.line(), common)
        told.append(_told(step.reply))
    return score + sum(CONTEXT_WEIGHT * keyword_overlap(t, found.line()) for t in told if t)


def _decided(candidates: Sequence[Found], steps: list[Step]) -> bool:
    """Whether the replies so far single out one candidate (by ``DECIDED`` or more)."""
    if len(candidates) < 2:  # none: nothing to weigh replies against, the model decides
        return len(candidates) == 1
    common = _shared_words(candidates)
    backed = sorted((_evidence(found, steps, "", common) for found in candidates), reverse=True)
    return backed[0] - backed[1] >= DECIDED


def _told(reply: str) -> str:
    """What a reply says beyond yes or no ("" for "yes", "no", "I don't know")."""
    rest = re.sub(r"^\W*(yes|yeah|yep|no|nope)\b\W*", "", reply, flags=re.I).strip()
    return "" if not rest or "know" in rest.lower() else rest
