"""A passage that a search found: what the clarify loop (reaction) finds and the ambiguity
check (decision) weighs, so it lives here, beside the other types both stages share."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STOP_WORDS", "Found"]


STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "also",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "best",
        "by",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "known",
        "me",
        "most",
        "my",
        "of",
        "on",
        "one",
        "or",
        "our",
        "she",
        "that",
        "the",
        "their",
        "there",
        "they",
        "this",
        "to",
        "was",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "with",
        "you",
        "your",
    ]
)
"""Words that say nothing about which thing is meant: left out when passages and questions
are compared word by word (by the ambiguity check and by the clarify loop's searches)."""


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
