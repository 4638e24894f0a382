"""The decision actor: runs the decision stage and routes what it decides.

Triggers and interrupts go to the reaction actor without waiting for any answer (the call
returns as soon as the reaction actor has queued the work), requests go to memory and to the
console. Answer markers come back from the reaction actor through ``submit``.
"""

from __future__ import annotations

from typing import Any

from decision import DecisionStage, UnderstoodInstruction
from vigil.items import Interrupt, Item, Request, Trigger

__all__ = ["DecisionActor"]


class DecisionActor:
    """Wrapped with ``ray.remote`` by the graph; ``reaction``, ``memory``, ``hub`` are handles."""

    def __init__(self, stage: DecisionStage, *, reaction: Any, memory: Any, hub: Any) -> None:
        self._stage = stage
        self._reaction = reaction
        self._memory = memory
        self._hub = hub
        self.decided: dict[str, int] = {"triggers": 0, "interrupts": 0, "requests": 0}

    async def submit(self, items: list[Item]) -> None:
        for item in items:
            if isinstance(item, Request):  # typed requests: remembered and shown like spoken ones
                await self._route(item)
            for out in await self._stage.handle(item.stamped("decision")):
                await self._route(out)

    async def _route(self, item: Item) -> None:
        match item:
            case Trigger():
                self.decided["triggers"] += 1
                await self._reaction.submit.remote(item)
                await self._hub.put.remote([item])
            case Interrupt():
                self.decided["interrupts"] += 1
                await self._reaction.interrupt.remote(item)
                await self._hub.put.remote([item])
            case Request():
                self.decided["requests"] += 1
                await self._memory.add_many.remote([item])
                await self._hub.put.remote([item])

    async def understood(self) -> list[UnderstoodInstruction]:
        """How each standing instruction was understood (or not)."""
        return list(self._stage.understood)
