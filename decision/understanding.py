"""From an instruction's words to a :class:`WatchSpec`: the rules, the model, or both.

The rule parser (:mod:`decision.rules`) is instant and exact on the phrasings it knows; the
language model (through an :class:`Understander`, which the runtime backs with the reaction
backend) reads any phrasing but costs a second or two and can misread. ``auto`` uses the
rules when they explain the whole instruction and the model otherwise; ``model`` asks the
model first and keeps the rules for when it fails; ``rules`` never asks the model. Whatever
fits neither becomes an ``other`` clause, which the model checks moment by moment: an
instruction is never silently dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from decision.rules import (
    accounts_for,
    offers_alternatives,
    parse_instruction,
    requested_output,
)
from vigil.instructions import Clause, WatchSpec

__all__ = [
    "Compile",
    "Understander",
    "Understanding",
    "fallback",
    "with_model",
    "without_model",
]

log = logging.getLogger(__name__)

Understanding = Literal["auto", "model", "rules"]


class Understander(Protocol):
    """The language model's part in following instructions (the reaction stage has it)."""

    async def compile(self, instruction: str) -> WatchSpec | None:
        """The instruction as a spec (schema-constrained output), or None if it failed."""
        ...

    async def check(self, stream_id: str, instruction: str, media_time: float) -> str | None:
        """Whether what ``instruction`` waits for is happening at ``media_time`` of the
        stream: the evidence in words when it is, else None."""
        ...


def fallback(instruction: str) -> WatchSpec:
    """The spec of an instruction that fits no clause: the model checks it itself."""
    return WatchSpec(clauses=(Clause(kind="other", value=instruction),), source="fallback")


Compile = Callable[[str], Awaitable[WatchSpec | None]]


def without_model(instruction: str, model: bool, mode: Understanding = "auto") -> WatchSpec | None:
    """The spec when the model need not be asked (at once), else None (``model``: whether
    there is one to ask)."""
    ruled = parse_instruction(instruction)
    trusted = ruled is not None and accounts_for(instruction, ruled)
    if mode == "rules" or not model or (mode == "auto" and trusted):
        return ruled or fallback(instruction)
    return None


async def with_model(instruction: str, compile_: Compile) -> WatchSpec:
    """The model's spec, with what the rules read surely (see :func:`_settled`); the rules',
    or :func:`fallback`, when the model gives none."""
    try:
        compiled = await compile_(instruction)
    except Exception:  # the model failing must not lose the instruction
        log.exception("the model could not compile %r", instruction)
        compiled = None
    if compiled is None:
        return parse_instruction(instruction) or fallback(instruction)
    return _settled(compiled, instruction)


def _settled(compiled: WatchSpec, instruction: str) -> WatchSpec:
    """The model's spec where a small model slips and a pattern does not: alternatives joined
    by "or" combine as any, and an output the rules found is kept when the model lost it."""
    combine = "any" if len(compiled.clauses) > 1 and offers_alternatives(instruction) else None
    output = None if compiled.output else requested_output(instruction) or None
    if combine is None and output is None:
        return compiled
    return dataclasses.replace(
        compiled, combine=combine or compiled.combine, output=output or compiled.output
    )
