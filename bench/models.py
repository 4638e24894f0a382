"""Which model answers, and how: each registered LLM with each multiple-choice method, on
the same perception.

Perception runs once per clip of the synthetic set, in the streaming graph (``vigil run
--unpaced --json``), and what it reported is kept. Every (model, method) pair then answers
every question with options from that same record, through the reaction stage, as it would
at the question's media time, with support from perception at the configured weight. So the
pairs differ only in how they answer, and one run compares them side by side:

- accuracy, overall and per question kind (the set's ``truth`` file holds the kinds);
- answer latency: the request to the final answer, prompt read cold (a question with
  options gets a prompt of its own, see :mod:`reaction.context`), p50 and p90.

    python -m bench.models [--split heldout] [--clips 5] [--models a,b] [--methods letter,text]
                           [--out reports/bench-models.json]

The set is built under ``--work`` (default ``reports/bench-models/<split>``) and perception's
record is reused from there when present; each model is prepared from its package. Take the
figures with nothing else running: latency on 2 cores doubles under load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.suite import load_suite
from evaluation.synthetic import build_synthetic
from memory import MemoryStore
from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.engine import ReactionOptions, ReactionStage
from runtime.config import load_config
from runtime.models import BUILTIN_MODELS, registry_for
from vigil.items import Observation, Request, Response, Trigger, Utterance

METHODS = ("letter", "text")


def record_perception(video: Path, events: Path) -> None:
    """What the streaming graph reports for ``video``, one JSON event per line."""
    if events.exists() and events.stat().st_size:
        return
    with events.with_suffix(".tmp").open("w") as out:
        subprocess.run(
            [str(Path(sys.executable).parent / "vigil"), "run", "--unpaced", "--json", str(video)],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    events.with_suffix(".tmp").rename(events)


def load_record(events: Path) -> tuple[list[Observation], list[Utterance]]:
    seen, heard = [], []
    for line in events.read_text().splitlines():
        event = json.loads(line)
        if event.get("type") == "Observation":
            seen.append(
                Observation(
                    stream_id="s", media_time=event["media_time"],
                    frame_index=event["frame_index"], people=event["people"],
                    faces=event["faces"], text=tuple(event["text"]),
                    text_sizes=tuple(event.get("text_sizes", ())),
                    text_backdrops=tuple(event.get("text_backdrops", ())),
                    colours=tuple(event["colours"]), motion=event["motion"],
                    scene_change=event["scene_change"], description=event["description"],
                )
            )  # fmt: skip
        elif event.get("type") == "Utterance" and event.get("final"):
            heard.append(
                Utterance(
                    stream_id="s", media_time=event["media_time"],
                    utterance_id=event["utterance_id"], t0=event["t0"], t1=event["t1"],
                    text=event["text"], speaker=event["speaker"],
                )
            )  # fmt: skip
    return seen, heard


async def answer_all(
    model: Path, method: str, clips: Sequence[dict[str, Any]], work: Path, prompts: dict[str, str]
) -> dict[str, Any]:
    """Accuracy per kind and latencies of one (model, method) pair over every question."""
    weight = load_config().reaction.support_weight
    stage = ReactionStage(
        LlamaCppBackend(model, n_ctx=4096),
        ReactionOptions(choice_method=method, support_weight=weight),  # type: ignore[arg-type]
    )
    await stage.start()
    right: dict[str, list[bool]] = defaultdict(list)
    latencies: list[float] = []
    try:
        for index, clip in enumerate(clips):
            seen, heard = load_record(work / f"events_{index}.jsonl")
            store = MemoryStore()
            for item in (*seen, *heard):
                store.add(item)
            snapshot = store.snapshot("s")
            for item in clip["items"]:
                if item.get("answer") is None:
                    continue  # proactive: the decision stage's, see bench.proactive
                text = prompts[item["key"]]
                at = next((o.media_time for o in seen if o.media_time >= item["at"]), item["at"])
                request = Request(
                    stream_id="s", media_time=at, request_id=item["key"], kind="question",
                    text=text,
                )  # fmt: skip
                trigger = Trigger(
                    stream_id="s", media_time=at, trigger_id=item["key"], request=request,
                    asked_at=at, stamps={"asked": time.time()},
                )  # fmt: skip
                started = time.perf_counter()
                *_, final = [
                    x
                    async for x in stage.respond(
                        trigger, observations=snapshot.observations, utterances=snapshot.utterances
                    )
                ]
                latencies.append(time.perf_counter() - started)
                assert isinstance(final, Response)
                right[item["kind"]].append(final.choice == "ABCD"[item["answer"]])
    finally:
        await stage.stop()
    every = [r for kind in right.values() for r in kind]
    return {
        "accuracy": sum(every) / len(every),
        "questions": len(every),
        "kinds": {k: {"right": sum(v), "of": len(v)} for k, v in sorted(right.items())},
        "latency_p50_s": statistics.median(latencies),
        "latency_p90_s": statistics.quantiles(latencies, n=10)[-1],
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="heldout", choices=("dev", "heldout"))
    parser.add_argument("--clips", type=int, default=5)
    llms = ",".join(spec.name for spec in BUILTIN_MODELS if spec.kind == "llm")
    parser.add_argument("--models", default=llms)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path, default=Path("reports/bench-models.json"))
    args = parser.parse_args(argv)
    work = args.work or Path("reports/bench-models") / args.split
    made = build_synthetic(work / "data", clips=args.clips, split=args.split)
    truth = json.loads(made.truth.read_text())["clips"]
    suite = load_suite([made.ovo, *made.streamingbench], made.root)
    prompts = {query.key: query.prompt for query in suite.queries}
    for index in range(args.clips):
        print(f"perception, clip {index + 1}/{args.clips} ...", flush=True)
        video = made.root / "videos" / f"{truth[index]['name']}.mp4"
        record_perception(video, work / f"events_{index}.jsonl")
    registry = registry_for(load_config())
    results = []
    for name in args.models.split(","):
        model = registry.path(name)
        for method in args.methods.split(","):
            print(f"{name} / {method} ...", flush=True)
            scores = asyncio.run(answer_all(model, method, truth, work, prompts))
            results.append({"model": name, "method": method, **scores})
            print(
                f"  {scores['accuracy']:.1%} of {scores['questions']}, "
                f"p50 {scores['latency_p50_s']:.2f} s, p90 {scores['latency_p90_s']:.2f} s"
            )
    kinds = sorted({k for r in results for k in r["kinds"]})
    header = "| kind | " + " | ".join(f"{r['model']} {r['method']}" for r in results) + " |"
    print("\n" + header + "\n|" + "---|" * (len(results) + 1))
    for kind in kinds:
        cells = [f"{r['kinds'][kind]['right']}/{r['kinds'][kind]['of']}" for r in results]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    overall = [f"**{r['accuracy']:.1%}**" for r in results]
    print("| overall | " + " | ".join(overall) + " |")
    latency = [f"{r['latency_p50_s']:.2f} s" for r in results]
    print("| answer p50 | " + " | ".join(latency) + " |")
    load = os.getloadavg()
    report = {"split": args.split, "clips": args.clips, "load_average": load, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; wrote {args.out}")


if __name__ == "__main__":
    main()
