"""The decision actor: runs the decision stage and routes what it decides.

Triggers and interrupts go to the reaction actor without waiting for any answer (the call
returns as soon as the reaction actor has queued the work), and so do replies to its
clarifying questions; requests go to memory and to the console. Answer markers come back
from the reaction actor through ``submit``.

Standing instructions are read with the reaction actor's model when the rules do not fit
(:class:`ReactionUnderstander`). That reading runs in the background, so a spoken instruction
never holds up perception; typed requests, which come from the driver, wait for it so that the
driver can tell the user at once how each was understood.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ray.exceptions import RayActorError

from decision import DecisionStage
from runtime.actors.supervised import Supervised
from vigil.instructions import WatchSpec
from vigil.items import Interrupt, Item, Reply, Request, Trigger, Understood, new_id

__all__ = ["DecisionActor", "ReactionUnderstander"]


class ReactionUnderstander:
    """The decision stage's :class:`~decision.Understander`, backed by the reaction actor."""

    def __init__(self, reaction: Any) -> None:
        self._reaction = reaction

    async def compile(self, instruction: str) -> WatchSpec | None:
        return await self._reaction.compile_instruction.remote(instruction)

    async def check(self, stream_id: str, instruction: str, media_time: float) -> str | None:
        return await self._reaction.check_instruction.remote(stream_id, instruction, media_time)


class DecisionActor(Supervised):
    """Wrapped with ``ray.remote`` by the graph; ``reaction``, ``memory``, ``hub`` are handles."""

    def __init__(self, stage: DecisionStage, *, reaction: Any, memory: Any, hub: Any) -> None:
        self._stage = stage
        self._stage.understander = ReactionUnderstander(reaction)
        self._reaction = reaction
        self._memory = memory
        self._hub = hub
        self.decided: dict[str, int] = {"triggers": 0, "interrupts": 0, "requests": 0}

    async def submit(self, items: list[Item]) -> None:
        typed: set[str] = set()
        for item in items:
            if isinstance(item, Request) and not self._stage.awaits_reply(
                item.stream_id, item.speaker
            ):  # typed requests: remembered and shown like spoken ones (a reply is no request)
                typed.add(item.stream_id)
                await self._route(item)
            for out in await self._stage.handle(item.stamped("decision")):
                await self._route(out)
        for stream_id in typed:
            for out in await self._stage.settle(stream_id):
                await self._route(out)

    async def _route(self, item: Item) -> None:
        match item:
            case Trigger():
                self.decided["triggers"] += 1
                # A reaction actor that died meanwhile loses the trigger; the supervisor, which
                # sees it on the hub with no answer after, submits it again once Ray restarted it.
                with contextlib.suppress(RayActorError):
                    await self._reaction.submit.remote(item)
                await self._hub.put.remote([item])
            case Interrupt():
                self.decided["interrupts"] += 1
                with contextlib.suppress(RayActorError):  # nothing left to cancel
                    await self._reaction.interrupt.remote(item)
                await self._hub.put.remote([item])
            case Request():
                self.decided["requests"] += 1
                await self._memory.add_many.remote([item])
                await self._hub.put.remote([item])
            case Reply():
                try:
                    delivered = await self._reaction.reply.remote(item)
                except RayActorError:  # the loop that asked died with its actor
                    delivered = False
                if delivered and not item.partial:
                    await self._hub.put.remote([item])
                if delivered or item.partial:  # a piece begun has no words of its own yet
                    return
                # the loop that asked is gone (its answer failed): the words stand on their own
                request = Request(
                    stream_id=item.stream_id,
                    media_time=item.media_time,
                    request_id=new_id(),
                    kind="question",
                    text=item.text,
                    speaker=item.speaker,
                )
                await self._route(request)
                for out in await self._stage.handle(request):
                    await self._route(out)
            case Understood():
                await self._hub.put.remote([item])

    async def understood(self) -> list[Understood]:
        """How each standing instruction was understood (or not)."""
        return list(self._stage.understood)
