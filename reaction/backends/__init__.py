"""Reaction backends: one async interface (:class:`Backend`), several engines behind it.

Only the base is imported here; an engine module (``reaction.backends.llama_cpp``) imports its
library on use, so that choosing one backend never requires installing the others.
"""

from reaction.backends.base import Backend, ChatMessage, ThreadedBackend

__all__ = ["Backend", "ChatMessage", "ThreadedBackend"]
