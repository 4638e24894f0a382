"""Reaction: builds a prompt from memory and streams the answer from a backend.

No Ray here: ``runtime.actors.reaction`` wraps :class:`ReactionStage` in an actor.
"""

from reaction.backends.base import Backend, ChatMessage, ThreadedBackend
from reaction.context import approx_tokens, build_messages, system_prompt
from reaction.engine import ReactionOptions, ReactionStage

__all__ = [
    "Backend",
    "ChatMessage",
    "ReactionOptions",
    "ReactionStage",
    "ThreadedBackend",
    "approx_tokens",
    "build_messages",
    "system_prompt",
]
