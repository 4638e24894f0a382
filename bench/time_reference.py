"""How well the moment a question asks about is read: the rules alone, and the rules with the
model for what they miss, on questions phrased by someone who never saw either.

``evaluation/temporal_probe.jsonl`` holds 140 questions (20 for each moment: now, just
appeared, first, latest, after X, before X, none), written by a helper who read no code; the
reader was never tuned on them. A reading is right when its kind is the label's and, for after
and before, the anchor is the named text.

    python -m bench.time_reference [--model qwen2.5-1.5b-instruct]
                                   [--out reports/bench-time-reference.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter
from pathlib import Path

from reaction.backends.llama_cpp import LlamaCppBackend
from reaction.sightings import reference, squash
from reaction.time_reference import ask_moment
from runtime.config import load_config
from runtime.models import registry_for

PROBE = Path(__file__).resolve().parents[1] / "evaluation" / "temporal_probe.jsonl"


def _label(kind: str | None) -> str:
    return kind or "none"


async def measure(model: str) -> dict[str, object]:
    cases = [json.loads(line) for line in PROBE.read_text().splitlines() if line.strip()]
    backend = LlamaCppBackend(registry_for(load_config()).prepare(model))
    await backend.start()
    right: Counter[str] = Counter()
    of: Counter[str] = Counter()
    seconds: list[float] = []
    for case in cases:
        label, anchor = case["label"], case.get("anchor", "")
        ruled = reference(case["question"])
        kinds = {"rules": _label(ruled.kind if ruled else None)}
        if ruled is None:
            started = time.perf_counter()
            kinds["rules+model"] = _label(await ask_moment(backend, case["question"]))
            seconds.append(time.perf_counter() - started)
        else:
            kinds["rules+model"] = kinds["rules"]
        started = time.perf_counter()
        kinds["model"] = _label(await ask_moment(backend, case["question"]))
        seconds.append(time.perf_counter() - started)
        for reader, kind in kinds.items():
            ok = kind == label
            if ok and label in ("after", "before") and reader == "rules":
                ok = ruled is not None and squash(ruled.anchor) == squash(anchor)
            right[reader] += ok
            right[f"{reader}/{label}"] += ok
            of[f"{reader}/{label}"] += 1
    await backend.stop()
    readers = ("rules", "rules+model", "model")
    return {
        "questions": len(cases),
        "model": model,
        "load_average": os.getloadavg(),
        "accuracy": {r: round(100 * right[r] / len(cases), 1) for r in readers},
        "by_moment": {
            r: {k.split("/")[1]: f"{right[k]}/{n}" for k, n in of.items() if k.startswith(r + "/")}
            for r in readers
        },
        "model_seconds_p50": sorted(seconds)[len(seconds) // 2] if seconds else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-1.5b-instruct")
    parser.add_argument("--out", type=Path, default=Path("reports/bench-time-reference.json"))
    args = parser.parse_args()
    result = asyncio.run(measure(args.model))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
