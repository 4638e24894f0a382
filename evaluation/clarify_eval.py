"""``vigil eval clarify``: the clarify loop on the project's own set or on InteractComp.

Each item is run in every mode asked for (:data:`reaction.clarify.MODES`) with the configured
model. A simulated user, the same model shown only the item's hidden context, replies to the
loop's questions with yes, no or "I don't know". A grader decides whether the answer names
the right thing: on the project's set, by the names it lists (the answer or an alias, and not
the distractor); on InteractComp, by its rule, a language-model judge of whether two answers
name the same entity (an exact match needs no judge).

On the project's set, the passages found for the request itself are the loop's knowledge in
every mode, as a model's training is in InteractComp's ``answer_only``: the entities are
invented, so without them no mode could name anything. Modes differ in what the loop may do
next: search more, ask, or be told the context up front.

The report folder holds ``report.json`` (``modes.<mode>.accuracy`` and the rest), every item's
rounds (``items.jsonl``; decrypted InteractComp text is written nowhere else), plots and an HTML
page.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from evaluation.interactcomp import load_interactcomp
from evaluation.report import save_figure
from memory.embeddings import TextEmbedder
from reaction.backends.base import Backend, ChatMessage
from reaction.clarify import MODES, ClarifyAgent, ClarifyOptions, Mode, Outcome
from reaction.context import load_prompt
from reaction.documents import DocumentIndex
from reaction.search import MemorySearch, Searcher

__all__ = [
    "MODES",
    "SPLITS",
    "Case",
    "SimulatedUser",
    "evaluate_clarify",
    "load_clarify_set",
    "names_match",
    "records_of",
    "run_interactcomp",
    "run_local",
    "same_name",
    "summarise",
]

SPLITS = ("dev", "test")
UNSURE_MARGIN = 0.5
"""The simulated user says "I don't know" when its context moves the log-odds of yes against
no by less than this."""
UNKNOWING = "Nothing: you do not remember anything about it."


@dataclass(frozen=True, slots=True)
class Case:
    """One request: ``answer`` (and ``aliases``) is right, ``distractor`` the likely wrong
    reading, ``context`` what only the person knows; ``ambiguous`` None where unknown
    (InteractComp: every item is)."""

    id: str
    question: str
    answer: str
    context: str
    aliases: tuple[str, ...] = ()
    distractor: str = ""
    ambiguous: bool | None = True
    source: str = "documents"


def _rows(name: str) -> list[dict[str, Any]]:
    text = (resources.files("evaluation") / "clarify_set" / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_clarify_set(split: str) -> tuple[list[Case], list[tuple[str, str]], dict[str, list]]:
    """The split's cases, every document (title, text), and every recorded session's lines
    (speaker, text) by session id."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    cases = [
        Case(
            id=row["id"],
            question=row["question"],
            answer=row["answer"],
            context=row["context"],
            aliases=tuple(row.get("aliases", ())),
            distractor=row.get("distractor", ""),
            ambiguous=bool(row.get("ambiguous", True)),
            source=row.get("source", "documents"),
        )
        for row in _rows("questions.jsonl")
        if row["split"] == split
    ]
    documents = [(row["title"], row["text"]) for row in _rows("documents.jsonl")]
    sessions = {
        row["id"]: [(u["speaker"], u["text"]) for u in row["utterances"]]
        for row in _rows("sessions.jsonl")
    }
    return cases, documents, sessions


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def names_match(answer: str, case: Case) -> bool:
    """Whether ``answer`` names the case's answer (or an alias) and not its distractor.

    A name inside the other is not a mention of it: "Calloway Star II" names the target, not
    the distractor "Calloway Star", and "Fenwick Rover Lite" (the distractor) does not name
    the target "Fenwick Rover"."""
    said = _norm(answer).split()
    targets = _spans(said, (case.answer, *case.aliases))
    distractors = _spans(said, (case.distractor,))
    right = any(not _inside(span, distractors) for span in targets)
    wrong = any(not _inside(span, targets) for span in distractors)
    return right and not wrong


def _spans(words: list[str], names: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each of ``names`` occurs in ``words``, as word spans."""
    spans = []
    for name in names:
        wanted = _norm(name).split()
        if not wanted:
            continue
        for start in range(len(words) - len(wanted) + 1):
            if words[start : start + len(wanted)] == wanted:
                spans.append((start, start + len(wanted)))
    return spans


def _inside(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    """Whether ``span`` lies within a longer span of ``others``."""
    return any(a <= span[0] and span[1] <= b and b - a > span[1] - span[0] for a, b in others)


class SimulatedUser:
    """The person who asked, played by a model that knows only ``context``: it replies yes, no
    or "I don't know", read from the log-odds of "yes" against "no" as the reply's first word,
    measured against the same question asked of someone who knows nothing (a small model
    leans to one reply whatever it knows; the difference is what the context adds)."""

    def __init__(self, backend: Backend, context: str) -> None:
        self.backend = backend
        self.context = context

    async def __call__(self, question: str) -> str:
        asked = self._messages(self.context, question)
        if "first_token" not in self.backend.score_methods:
            reply = "".join([p async for p in self.backend.stream(asked, max_tokens=6)])
            return reply.strip().lower() or "i don't know"
        lean = await self._yes_odds(asked) - await self._yes_odds(
            self._messages(UNKNOWING, question)
        )
        if abs(lean) < UNSURE_MARGIN:
            return "i don't know"
        return "yes" if lean > 0 else "no"

    @staticmethod
    def _messages(context: str, question: str) -> list[ChatMessage]:
        prompt = load_prompt("simulated_user").format(context=context, question=question)
        return [ChatMessage("user", prompt)]

    async def _yes_odds(self, messages: list[ChatMessage]) -> float:
        big_yes, yes, big_no, no = await self.backend.score(messages, ["Yes", "yes", "No", "no"])
        return float(np.logaddexp(big_yes, yes) - np.logaddexp(big_no, no))


def same_name(answer: str, truth: str) -> bool:
    """Whether ``answer`` names ``truth`` outright: all its words, in order ("It is Salt
    Lanterns (2019)" names "Salt Lanterns"; "Salt" does not)."""
    a, t = _norm(answer), _norm(truth)
    return bool(a and t) and f" {t} " in f" {a} "


async def judged_same(backend: Backend, answer: str, truth: str, question: str) -> bool:
    """InteractComp's rule: does ``answer`` name the same entity as ``truth``? An exact match
    (:func:`same_name`) does; otherwise the model judges, yes or no. A 1.5B judge says yes
    too readily, so reports give the exact matches beside (``exact_accuracy``)."""
    if not _norm(answer):
        return False
    if same_name(answer, truth):
        return True
    prompt = (
        f"Question: {question}\nCorrect answer: {truth}\nGiven answer: {answer}\n"
        "Does the given answer name the same entity as the correct answer? Answer Yes or No."
    )
    yes, no = await backend.score([ChatMessage("user", prompt)], ["Yes", "No"])
    return yes > no


def _calibration_error(confidence: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    """Expected calibration error in percent: the gap between stated confidence and accuracy,
    averaged over confidence bins weighted by their items."""
    if not confidence:
        return 0.0
    conf = np.asarray(confidence, dtype=float) / 100
    hit = np.asarray(right, dtype=float)
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        mask = edges == b
        if mask.any():
            error += mask.sum() * abs(conf[mask].mean() - hit[mask].mean())
    return float(100 * error / len(conf))


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per mode: accuracy, interaction rate (share of rounds that ask), rounds, calibration
    error, seconds per item; for the project's set also missed ambiguities and needless
    questions."""
    modes: dict[str, Any] = {}
    for mode in dict.fromkeys(r["mode"] for r in records):
        rows = [r for r in records if r["mode"] == mode]
        rounds = sum(r["rounds"] for r in rows)
        ambiguous = [r for r in rows if r["ambiguous"] is True]
        clear = [r for r in rows if r["ambiguous"] is False]
        modes[mode] = {
            "n": len(rows),
            "accuracy": 100 * sum(r["right"] for r in rows) / len(rows),
            "exact_accuracy": 100 * sum(r.get("exact", r["right"]) for r in rows) / len(rows),
            "interaction_rate": 100 * sum(r["asks"] for r in rows) / rounds if rounds else 0.0,
            "asked_items": 100 * sum(r["asks"] > 0 for r in rows) / len(rows),
            "rounds": rounds / len(rows),
            "calibration_error": _calibration_error(
                [r["confidence"] for r in rows], [r["right"] for r in rows]
            ),
            "seconds_per_item": sum(r["seconds"] for r in rows) / len(rows),
            "ambiguous_accuracy": (
                100 * sum(r["right"] for r in ambiguous) / len(ambiguous) if ambiguous else None
            ),
            "missed_ambiguities": sum(r["asks"] == 0 for r in ambiguous),
            "needless_questions": sum(r["asks"] > 0 for r in clear),
            "timed_out": sum(bool(r["needs"]) for r in rows),
        }
    return modes


Grade = Callable[[Case, Outcome], Awaitable[tuple[bool, bool]]]
"""Whether an outcome is right, and whether it is right by an exact match of names."""


async def evaluate_clarify(
    backend: Backend,
    cases: list[Case],
    searchers_for: Callable[[Case], list[Searcher]],
    grade: Grade,
    modes: Sequence[Mode],
    out: Path,
    *,
    max_rounds: int = 10,
    label: str = "clarify",
) -> dict[str, Any]:
    """Run every case in every mode; write and return the report."""
    out.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    log = (out / "items.jsonl").open("w")  # as each item ends: a stopped run keeps its items
    with log, Progress("[progress.description]{task.description}", *columns) as progress:
        task = progress.add_task(label, total=len(cases) * len(modes))
        for mode in modes:
            options = ClarifyOptions.for_mode(mode, max_rounds=max_rounds)
            for case in cases:
                agent = ClarifyAgent(backend, searchers_for(case), options)
                started = time.perf_counter()
                outcome = await agent.run(
                    case.question,
                    asker=SimulatedUser(backend, case.context) if options.ask else None,
                    context=case.context if mode == "full_with_context" else "",
                )
                right, exact = await grade(case, outcome)
                records.append(
                    {
                        "mode": mode,
                        "id": case.id,
                        "ambiguous": case.ambiguous,
                        "right": right,
                        "exact": exact,
                        "answer": outcome.text,
                        "confidence": outcome.confidence,
                        "asks": outcome.asks,
                        "rounds": outcome.rounds,
                        "needs": outcome.needs,
                        "verdict": outcome.verdict.reason,
                        "steps": [s.as_dict() for s in outcome.steps],
                        "seconds": time.perf_counter() - started,
                    }
                )
                log.write(json.dumps(records[-1]) + "\n")
                log.flush()
                progress.advance(task)
    report = {"label": label, "n_items": len(cases), "modes": summarise(records)}
    (out / "report.json").write_text(json.dumps(report, indent=1))
    _page(report, out)
    return report


def _page(report: dict[str, Any], out: Path) -> None:
    """Plots (accuracy and interaction per mode) and an HTML page beside report.json."""
    import matplotlib.pyplot as plt

    modes = report["modes"]
    names = list(modes)
    fig, ax = plt.subplots(1, 2, figsize=(10, 0.45 * len(names) + 2))
    ax[0].barh(names, [modes[m]["accuracy"] for m in names], color="#4a7bd0")
    ax[0].set_xlim(0, 100)
    ax[0].set_xlabel("accuracy (%)")
    ax[1].barh(names, [modes[m]["interaction_rate"] for m in names], color="#d07a4a")
    ax[1].set_xlim(0, 100)
    ax[1].set_xlabel("rounds that ask (%)")
    ax[1].set_yticks([])
    fig.suptitle(f"{report['label']}: {report['n_items']} items")
    plot = save_figure(fig, out / "modes.png")
    keys = (
        "n",
        "accuracy",
        "exact_accuracy",
        "interaction_rate",
        "rounds",
        "calibration_error",
        "seconds_per_item",
    )
    head = "".join(f"<th>{k}</th>" for k in ("mode", *keys))
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td>"
        + "".join(f"<td>{_cell(modes[m][k])}</td>" for k in keys)
        + "</tr>"
        for m in names
    )
    (out / "index.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Vigil clarify evaluation</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border:1px solid #ccc}"
        f"table{{border-collapse:collapse}}</style><h1>{html.escape(report['label'])}</h1>"
        f"<table><tr>{head}</tr>{rows}</table><p><img src='{plot}' alt='modes'></p>"
    )


def _cell(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, float) else html.escape(str(value))


def local_searchers(
    index: DocumentIndex, sessions: dict[str, list[tuple[str, str]]], embedder: TextEmbedder
) -> Callable[[Case], list[Searcher]]:
    """The documents for every case, and the recorded session a case is about."""

    def searchers(case: Case) -> list[Searcher]:
        found: list[Searcher] = [index]
        if case.source.startswith("session:"):
            lines = sessions[case.source.removeprefix("session:")]

            async def recorded() -> list[tuple[str, str]]:
                return lines

            found.append(MemorySearch(recorded, embedder))
        return found

    return searchers


async def run_local(
    backend: Backend,
    split: str,
    modes: Sequence[Mode],
    out: Path,
    *,
    limit: int | None = None,
    **kw: Any,
) -> dict[str, Any]:
    """The project's own set (its first ``limit`` cases): documents indexed under ``out``,
    sessions as memory."""
    cases, documents, sessions = load_clarify_set(split)
    cases = cases[:limit]
    embedder = TextEmbedder()
    index = DocumentIndex(out / "index", embedder)
    index.add(documents)

    async def grade(case: Case, outcome: Outcome) -> tuple[bool, bool]:
        right = names_match(outcome.answer, case)
        return right, right

    report = await evaluate_clarify(
        backend,
        cases,
        local_searchers(index, sessions, embedder),
        grade,
        modes,
        out,
        label=f"clarify set, {split} split",
        **kw,
    )
    return report


async def run_interactcomp(
    backend: Backend,
    path: Path,
    modes: Sequence[Mode],
    out: Path,
    *,
    limit: int | None,
    searchers: list[Searcher],
    **kw: Any,
) -> dict[str, Any]:
    """InteractComp, decrypted in memory; searches go to ``searchers`` (none offline)."""
    cases = [
        Case(id=item.id, question=item.question, answer=item.answer, context=item.context)
        for item in load_interactcomp(path, limit)
    ]

    async def grade(case: Case, outcome: Outcome) -> tuple[bool, bool]:
        exact = same_name(outcome.answer, case.answer)
        return exact or await judged_same(
            backend, outcome.answer, case.answer, case.question
        ), exact

    return await evaluate_clarify(
        backend,
        cases,
        lambda case: searchers,
        grade,
        modes,
        out,
        label=f"InteractComp, {len(cases)} items",
        **kw,
    )


def records_of(out: Path) -> list[dict[str, Any]]:
    """The per-item records a run wrote (for tests and further analysis)."""
    return [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
