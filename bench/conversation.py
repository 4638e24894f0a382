"""The scripted three-session, four-speaker conversation of issue 6, on real media.

The sessions of :mod:`evaluation.conversation` are played one after the other through the
whole graph (unpaced, one run each, persistent memory in one store and tenant). Then every
question of the set is put to long-term memory the way the reaction actor does when a question
comes (:meth:`runtime.actors.memory.LongTermMemoryActor.recall`: the tenant's hits from earlier
sessions, best first, ``memory.recall_lines`` of them), and scored:

- retrieval recall@1 and @k (k = ``recall_lines``): an item (not a session summary) among the
  first k that states the expected answer *and* names the speaker it is about; "answer only"
  counts an item that states the answer without naming anyone (an observation of a card);
- for the questions asked live in session 3: whether the answer states the fact and whether it
  names the speaker;
- what if recall left session summaries out (``--items-only`` figures): the same search
  scoped to every kind but ``session``, as a suggested change to the memory actor would do;
- who the voices were taken for: the share of heard utterances labelled with the right name,
  per session (session 1 learns the names, sessions 2 and 3 recognise the voices), and how
  many identities the speaker book holds at the end (one per person is right).

    python -m bench.conversation [--live all] [--keep DIR] [--out reports/bench-conversation.json]

Timings are wall-clock on whatever else the machine is running; on a shared 2-core machine
they are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import ray

from evaluation.conversation import (
    QUESTIONS,
    SESSIONS,
    BuiltSession,
    Question,
    build_session,
    mentions,
    names,
    play_sessions,
)
from memory.schema import KINDS, MemoryRecord
from memory.scope import Scope
from runtime.actors.memory import LongTermMemoryActor
from runtime.config import VigilConfig, load_config
from runtime.graph import ensure_ray
from runtime.session import RunOutcome

TENANT = "office"


ITEMS = tuple(kind for kind in KINDS if kind != "session")


async def recalled(
    actor: LongTermMemoryActor, question: str, *, items_only: bool = False
) -> list[MemoryRecord]:
    """The records behind ``actor.recall(question)``, in its order (checked to be the same);
    ``items_only``: the same, with session summaries left out of the search."""
    scope = Scope(tenant=actor.tenant, kinds=ITEMS if items_only else ())
    hits = await actor.long.recall(question, scope)
    records = [h.record for h in hits if h.record.session != actor.session][: actor.recall_lines]
    if not items_only and [r.text for r in records] != await actor.recall(question):
        raise RuntimeError("the bench no longer mirrors LongTermMemoryActor.recall")
    return records


def rank_of(records: Sequence[MemoryRecord], question: Question, *, named: bool) -> int | None:
    """1-based rank of the first item that states the answer (and names the speaker)."""
    for rank, record in enumerate(records, 1):
        if record.kind == "session" or not mentions(record.text, question.answer):
            continue
        if not named or names(record.text, question.speaker):
            return rank
    return None


def speaker_accuracy(built: BuiltSession, outcome: RunOutcome) -> dict[str, Any]:
    """Share of heard utterances labelled with the name of the line they overlap most."""
    labels = []
    for utterance in outcome.utterances:
        overlap = [min(utterance.t1, s.end) - max(utterance.t0, s.start) for s in built.spoken]
        best = max(range(len(overlap)), key=overlap.__getitem__)
        if overlap[best] > 0:
            labels.append((utterance.speaker, built.spoken[best].speaker, utterance.text))
    right = sum(heard == truth for heard, truth, _ in labels)
    return {
        "lines": len(built.spoken),
        "heard": len(labels),
        "right": right,
        "labels": [{"heard": h, "speaker": s, "text": t} for h, s, t in labels],
    }


async def measure(config: VigilConfig, folder: Path, live: Sequence[Question]) -> dict[str, Any]:
    built = [build_session(s, folder / f"{s.name}.mp4") for s in SESSIONS]
    started = time.monotonic()
    outcomes = await play_sessions(config, built, live)
    played = time.monotonic() - started
    last = built[-1].session.name
    actor = LongTermMemoryActor(
        config.memory.model_copy(update={"persistent": True, "session": last}), "stream-0"
    )
    answers = {r.question: r.text for r in outcomes[-1].responses}
    failures = [e.message for o in outcomes for e in o.errors]
    rows = []
    for question in QUESTIONS:
        records = await recalled(actor, question.text)
        items = await recalled(actor, question.text, items_only=True)
        answer = answers.get(question.text)
        rows.append(
            {
                "question": question.text,
                "kind": question.kind,
                "expected": question.answer,
                "speaker": question.speaker,
                "rank": rank_of(records, question, named=True),
                "rank_answer_only": rank_of(records, question, named=False),
                "rank_items_only": rank_of(items, question, named=True),
                "recalled": [f"[{r.session} {r.kind}] {r.text}" for r in records],
                "live": question in live,
                "answer": answer,
                "answer_right": answer is not None and mentions(answer, question.answer),
                "speaker_named": answer is not None and names(answer, question.speaker),
            }
        )
    return {
        "sessions": [
            {
                "session": b.session.name,
                "media_s": round(b.duration, 1),
                "wall_s": round(o.wall_seconds, 1),
                "startup_s": round(o.startup_seconds, 1),
                "voices": speaker_accuracy(b, o),
                "on_screen_text": sorted({line for ob in o.observations for line in ob.text}),
            }
            for b, o in zip(built, outcomes, strict=True)
        ],
        "played_s": round(played, 1),
        # The speaker book after the three sessions: one identity per person is the goal.
        "identities": sorted(s.name or s.speaker for s in actor.long.speakers.all(actor.tenant)),
        "questions": rows,
        "errors": failures,
    }


def summary(result: dict[str, Any], k: int) -> dict[str, Any]:
    rows = result["questions"]
    live = [r for r in rows if r["live"]]

    def share(hits: int, of: int) -> float:
        return round(hits / of, 3) if of else 0.0

    return {
        "questions": len(rows),
        "recall@1": share(sum(r["rank"] == 1 for r in rows), len(rows)),
        f"recall@{k}": share(sum(r["rank"] is not None for r in rows), len(rows)),
        "recall@1_answer_only": share(sum(r["rank_answer_only"] == 1 for r in rows), len(rows)),
        f"recall@{k}_answer_only": share(
            sum(r["rank_answer_only"] is not None for r in rows), len(rows)
        ),
        "recall@1_items_only": share(sum(r["rank_items_only"] == 1 for r in rows), len(rows)),
        f"recall@{k}_items_only": share(
            sum(r["rank_items_only"] is not None for r in rows), len(rows)
        ),
        "live": len(live),
        "live_answered": sum(r["answer"] is not None for r in live),
        "live_answer_right": share(sum(r["answer_right"] for r in live), len(live)),
        "live_speaker_named": share(sum(r["speaker_named"] for r in live), len(live)),
        "live_right_and_named": share(
            sum(r["answer_right"] and r["speaker_named"] for r in live), len(live)
        ),
    }


def report(result: dict[str, Any]) -> None:
    for s in result["sessions"]:
        v = s["voices"]
        print(
            f"session {s['session']}: {s['media_s']}s of media in {s['wall_s']}s "
            f"(startup {s['startup_s']}s); {v['heard']} of {v['lines']} lines heard, "
            f"{v['right']} with the right name; on screen: {s['on_screen_text']}"
        )
    people = len({line.speaker for session in SESSIONS for line in session.lines})
    found = result["identities"]
    print(f"speaker book: {len(found)} identities for {people} people: {', '.join(found)}")
    for r in result["questions"]:
        mark = "live" if r["live"] else "    "
        print(f"{mark} {r['question']!r} (expect {r['expected']!r}, {r['speaker']})")
        print(
            f"      rank {r['rank']} (answer only: {r['rank_answer_only']}, "
            f"items only: {r['rank_items_only']})"
        )
        for line in r["recalled"]:
            print("        " + line.replace("\n", " | ")[:160])
        if r["live"]:
            verdict = f"right={r['answer_right']} named={r['speaker_named']}"
            print(f"      answer: {r['answer']!r} ({verdict})")
    for error in result["errors"]:
        print("error:", error)
    print(json.dumps(result["summary"], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--live", choices=["test", "all"], default="test",
        help="questions asked live in session 3: the end-to-end test's, or all of them",
    )  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the clips and the store in this folder")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-conversation.json"))
    args = parser.parse_args()
    live = QUESTIONS if args.live == "all" else tuple(q for q in QUESTIONS if q.live)
    owns = ensure_ray(None)  # the runtime's own start-up, as every run makes it
    try:
        with tempfile.TemporaryDirectory(prefix="vigil-conversation-") as tmp:
            folder = args.keep or Path(tmp)
            shutil.rmtree(folder / "memory", ignore_errors=True)  # a fresh store every time
            config = load_config(memory={"path": str(folder / "memory"), "tenant": TENANT})
            result = asyncio.run(measure(config, folder, live))
    finally:
        if owns:
            ray.shutdown()
    result["summary"] = summary(result, config.memory.recall_lines)
    result["cpus"] = os.cpu_count()
    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
