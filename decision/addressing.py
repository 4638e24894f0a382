"""Whether a spoken request is meant for the agent, when several people talk in the room.

A question is the agent's when it names the agent, or follows one of the agent's answers
closely (a follow-up). It is someone else's when it calls a person by name: "Bob, what time
is it?", "Hey Alice, where are the keys?", "..., right Bob?". Names are learnt from the
conversation itself: speakers enrolled by voice and anyone who introduced themselves.
Anything else depends on the mode: ``auto`` answers it (a single user need not say the
agent's name), ``name`` does not (a busy room where the agent speaks only when called).
"""

from __future__ import annotations

import re
from typing import Literal

from perception.speakers import spoken_name

__all__ = ["Addressee", "Addressing"]

Addressing = Literal["auto", "name", "always"]

_DEFAULT_LABEL = re.compile(r"^(?:speaker|user)(?:-\d+)?$", re.IGNORECASE)


class Addressee:
    """Tells whether an utterance is addressed to the agent; learns people's names as it goes."""

    def __init__(self, agent: str = "Vigil", mode: Addressing = "auto", follow_up: float = 15.0):
        self.agent = agent.lower()
        self.mode = mode
        self.follow_up = follow_up
        self.names: set[str] = set()

    def learn(self, speaker: str, text: str) -> None:
        """Remember ``speaker``'s name and any name introduced in ``text``."""
        if not _DEFAULT_LABEL.match(speaker):
            self.names.add(speaker.lower())
        if name := spoken_name(text):
            self.names.add(name.lower())

    def addressed(self, text: str, *, t0: float, last_answer: float | None) -> bool:
        """Whether ``text`` (spoken from media time ``t0``) is for the agent."""
        if self.mode == "always" or self._mentions(text, self.agent):
            return True
        if self._calls_someone_else(text):
            return False
        if last_answer is not None and 0 <= t0 - last_answer <= self.follow_up:
            return True
        return self.mode == "auto"

    @staticmethod
    def _mentions(text: str, name: str) -> bool:
        return re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE) is not None

    def _calls_someone_else(self, text: str) -> bool:
        """A known name used as a vocative: at the start, after "hey", or tagged at the end."""
        for name in self.names - {self.agent}:
            n = re.escape(name)
            if re.search(
                rf"^\s*(?:hey|hi|ok|okay|so)?[\s,]*{n}\b[,!?:]|\bhey,?\s+{n}\b|,\s*(?:right\s+)?{n}\s*[?.!]*\s*$",
                text,
                re.IGNORECASE,
            ):
                return True
        return False
