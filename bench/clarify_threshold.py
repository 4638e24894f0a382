"""Choose the ambiguity margin on the clarify set's dev split: missed ambiguities against
needless questions at each margin.

    python -m bench.clarify_threshold [--split dev] [--out reports/clarify-threshold.json]

Every question is looked up once (the documents, and the recorded session it is about, as
``vigil eval clarify`` searches them); :func:`decision.ambiguity.assess` then runs at each
margin. No language model is involved, so the sweep takes seconds. The margin to configure
(``clarify.margin``) is the one with the fewest errors of both kinds, a missed ambiguity
counted as heavier (``--miss-cost``): a needless question costs the person a second, a missed
one a wrong answer. Report the test split with the chosen margin, never choose on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path

from decision.ambiguity import AmbiguityOptions, assess
from evaluation.clarify_eval import load_clarify_set, local_searchers
from memory.embeddings import TextEmbedder
from reaction.documents import DocumentIndex
from reaction.search import search_all

MARGINS = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)


async def sweep(split: str, miss_cost: float) -> dict[str, object]:
    cases, documents, sessions = load_clarify_set(split)
    embedder = TextEmbedder()
    with tempfile.TemporaryDirectory() as folder:
        index = DocumentIndex(Path(folder), embedder)
        index.add(documents)
        searchers = local_searchers(index, sessions, embedder)
        found = [await search_all(searchers(c), c.question, 5) for c in cases]
    rows = []
    for margin in MARGINS:
        options = AmbiguityOptions(margin=margin)
        flagged = [
            assess(c.question, f, options).ambiguous for c, f in zip(cases, found, strict=True)
        ]
        missed = sum(c.ambiguous is True and not a for c, a in zip(cases, flagged, strict=True))
        needless = sum(c.ambiguous is False and a for c, a in zip(cases, flagged, strict=True))
        rows.append({"margin": margin, "missed": missed, "needless": needless,
                     "cost": miss_cost * missed + needless})  # fmt: skip
    best = min(rows, key=lambda r: (r["cost"], r["margin"]))
    return {
        "split": split,
        "ambiguous": sum(c.ambiguous is True for c in cases),
        "clear": sum(c.ambiguous is False for c in cases),
        "miss_cost": miss_cost,
        "rows": rows,
        "best": best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--miss-cost", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("reports/clarify-threshold.json"))
    args = parser.parse_args()
    result = asyncio.run(sweep(args.split, args.miss_cost))
    print(f"{args.split}: {result['ambiguous']} ambiguous, {result['clear']} clear questions")
    print("margin  missed  needless")
    for row in result["rows"]:  # type: ignore[union-attr]
        print(f"{row['margin']:6.2f}  {row['missed']:6d}  {row['needless']:8d}")
    print(f"best: {result['best']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
