"""A passage that a search found: what the clarify loop (reaction) finds and the ambiguity
check (decision) weighs, so it lives here, beside the other types both stages share."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Found"]


@dataclass(frozen=True, slots=True)
class Found:
    """One passage a search returned. ``title`` names the thing it is about where ``names`` is
    true (a document's title), else who or what it came from (a speaker); ``similarity`` is
    its cosine similarity to the query, comparable across searchers."""

    title: str
    text: str
    source: str
    similarity: float
    names: bool = True

    def line(self) -> str:
        return f"{self.title}: {self.text}" if self.title else self.text
