"""What the driver's supervisor asks of a stage actor to notice that Ray restarted it."""

from __future__ import annotations

import os
import socket

import ray

__all__ = ["Supervised"]


class Supervised:
    """A stage actor whose restarts the supervisor can see.

    Ray restarts an actor whose process died by running its constructor again in a new
    process; calls then reach the new instance as if nothing happened, with none of the old
    one's state. The process that serves the actor is what tells the two apart.
    """

    async def process(self) -> str:
        """The host and process id serving this actor; it changes when Ray restarts it."""
        return f"{socket.gethostname()}:{os.getpid()}"

    async def node(self) -> str:
        """The Ray node this actor runs on (where ``runtime.resources`` placed it)."""
        return ray.get_runtime_context().get_node_id()
