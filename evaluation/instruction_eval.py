"""How well standing instructions are understood: the project's instruction set, scored.

``evaluation/instruction_set/`` holds instructions written in varied ways, each with the
:class:`~vigil.instructions.WatchSpec` it should be understood as: ``dev.jsonl`` (which the
rules and prompts may be tuned on), ``heldout.jsonl`` (which they never are, though its misses
have been read) and ``fresh.jsonl`` (written later by someone who had seen neither the rules
nor the other splits, and whose lines nobody tuning has read) and ``unseen.jsonl`` (written
by another such person, at the same time as the second half of ``dev.jsonl``, and likewise
never read), and ``sealed.jsonl`` (80 more, written by a third such person after the misses of
``fresh`` and ``unseen`` had been read, to measure what was changed after that reading). An
instruction is understood correctly when the spec the decision stage would watch has the same
meaning (:meth:`WatchSpec.same_meaning`); an instruction that fits no clause is understood
correctly when it is recognised as such (the model then checks it moment by moment).
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rich.console import Console
from rich.table import Table

from decision.understanding import Compile, Understanding, with_model, without_model
from reaction.instructions import compile_instruction
from runtime.config import VigilConfig
from vigil.instructions import WatchSpec

__all__ = [
    "InstructionCase",
    "InstructionResult",
    "evaluate_split",
    "load_instructions",
    "print_result",
    "score_instructions",
]

SPLITS = ("dev", "heldout", "fresh", "unseen", "sealed")


@dataclass(frozen=True, slots=True)
class InstructionCase:
    text: str
    expected: WatchSpec


@dataclass(frozen=True, slots=True)
class InstructionResult:
    case: InstructionCase
    got: WatchSpec
    seconds: float

    @property
    def right(self) -> bool:
        if self.case.expected.model_checked:
            return self.got.model_checked
        return self.got.same_meaning(self.case.expected)


def load_instructions(split: str) -> list[InstructionCase]:
    """The cases of one split of the packaged instruction set."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    text = (resources.files("evaluation") / "instruction_set" / f"{split}.jsonl").read_text()
    cases = []
    for line in text.splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(InstructionCase(row["text"], WatchSpec.from_json(row["expected"])))
    return cases


async def understand_one(text: str, compile_: Compile | None, mode: Understanding) -> WatchSpec:
    """What the decision stage would watch for ``text`` (``compile_``: the model, if any)."""
    spec = without_model(text, compile_ is not None, mode)
    if spec is None:
        assert compile_ is not None
        spec = await with_model(text, compile_)
    return spec


async def score_instructions(
    cases: list[InstructionCase], compile_: Compile | None, mode: Understanding
) -> dict[str, Any]:
    """Accuracy, per-kind accuracy, the misses and time per instruction."""
    results = []
    for case in cases:
        started = time.perf_counter()
        got = await understand_one(case.text, compile_, mode)
        results.append(InstructionResult(case, got, time.perf_counter() - started))
    by_kind: dict[str, list[bool]] = {}
    for result in results:
        kinds = {c.kind for c in result.case.expected.clauses}
        key = (
            kinds.pop()
            if len(kinds) == 1 and len(result.case.expected.clauses) == 1
            else "combined"
        )
        by_kind.setdefault(key, []).append(result.right)
    right = sum(r.right for r in results)
    return {
        "mode": mode,
        "n": len(results),
        "right": right,
        "accuracy": 100 * right / len(results) if results else None,
        "by_kind": {k: {"n": len(v), "right": sum(v)} for k, v in sorted(by_kind.items())},
        "seconds_mean": sum(r.seconds for r in results) / len(results) if results else 0.0,
        "by_source": _sources(results),
        "misses": [
            {
                "text": r.case.text,
                "expected": r.case.expected.kind + _out(r.case.expected),
                "got": r.got.kind + _out(r.got),
                "source": r.got.source,
            }
            for r in results
            if not r.right
        ],
    }


def _out(spec: WatchSpec) -> str:
    return f" -> {spec.output!r}" if spec.output else ""


def _sources(results: list[InstructionResult]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for result in results:
        entry = out.setdefault(result.got.source, {"n": 0, "right": 0})
        entry["n"] += 1
        entry["right"] += result.right
    return out


async def evaluate_split(config: VigilConfig, split: str, mode: Understanding) -> dict[str, Any]:
    """Score one split with the configured model (and the rules, as ``mode`` says)."""
    compile_: Compile | None = None
    backend = None
    if mode != "rules":
        from runtime.stages import build_backend, resolve_model_paths

        backend = build_backend(config, resolve_model_paths(config))
        await backend.start()
        compile_ = functools.partial(compile_instruction, backend)
    try:
        result = await score_instructions(load_instructions(split), compile_, mode)
    finally:
        if backend is not None:
            await backend.stop()
    return {"split": split, "model": config.models.llm if mode != "rules" else None, **result}


def print_result(result: dict[str, Any], console: Console) -> None:
    table = Table(title=f"instructions, {result['split']} split, understanding={result['mode']}")
    for column in ("kind", "n", "right"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, row in result["by_kind"].items():
        table.add_row(kind, str(row["n"]), str(row["right"]))
    table.add_row("all", str(result["n"]), f"{result['right']} ({result['accuracy']:.1f}%)")
    console.print(table)
    for miss in result["misses"]:
        console.print(
            f"[yellow]miss[/yellow] {miss['text']!r}: expected {miss['expected']}, "
            f"got {miss['got']} ({miss['source']})"
        )
    console.print(f"[dim]{result['seconds_mean']:.2f} s per instruction[/dim]")
