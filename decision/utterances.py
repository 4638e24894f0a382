"""What a finished utterance asks of the agent: a question, a standing instruction, or nothing.

Spoken requests reach the decision stage as plain transcripts. Whisper punctuates, so a
question mark is a strong cue; an interrogative opening covers transcripts without one. A
sentence that opens by calling the agent by name is a request even when its first word was
misheard ("Vigil, but was the name of that place."): the person wants an answer.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["UtteranceIntent", "classify"]

UtteranceIntent = Literal["question", "instruction", "statement"]

_INSTRUCTION = re.compile(
    r"^\s*(?:please\s+|hey\s+\w+[,!]?\s+|vigil[,!]?\s+)?"
    r"(?:tell|let|alert|notify|warn|ping|inform)\s+(?:me|us)\b(?:\s+know)?\s+"
    r"(?:when|if|whenever|as soon as|once)\b",
    re.IGNORECASE,
)
_INTERROGATIVE = re.compile(
    r"^\s*(?:hey\s+\w+[,!]?\s+|vigil[,!]?\s+)?"
    r"(?:how|what|what's|who|who's|whom|whose|where|where's|when|why|which|"
    r"is|are|was|were|do|does|did|can|could|will|would|should|has|have|had)\b",
    re.IGNORECASE,
)
_CALLS_AGENT = re.compile(r"^\s*(?:hey|hi|ok|okay)?[\s,]*vigil\s*[,!:]", re.IGNORECASE)


def classify(text: str) -> UtteranceIntent:
    """The intent of a transcript: standing instructions first, then questions."""
    if _INSTRUCTION.search(text):
        return "instruction"
    stripped = text.strip()
    if stripped.endswith("?") or _INTERROGATIVE.search(stripped) or _CALLS_AGENT.search(stripped):
        return "question"
    return "statement"
