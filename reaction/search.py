"""What the clarify loop can search, behind one small interface.

A :class:`Searcher` takes a query and returns :class:`Found` passages, best first, with a
similarity to the query that the ambiguity check compares across them (so every searcher
scores alike: cosine similarity of the packaged MiniLM embeddings, whatever found the passage).

- :class:`MemorySearch`: what the session remembers (who said what, what was read on screen),
  from a callable that returns the lines, so the same searcher serves a live session (its memory
  snapshot) and an evaluation (a recorded conversation);
- :class:`reaction.documents.DocumentIndex`: files the user adds, full text and vectors on disk;
- :class:`WebSearch`: a web search API (a SearXNG-style JSON endpoint), off unless configured.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import httpx
import numpy as np

from vigil.errors import BackendError
from vigil.passages import STOP_WORDS, Found

if TYPE_CHECKING:  # the vLLM test environment has no memory store (pyarrow)
    from memory.embeddings import TextEmbedder

log = logging.getLogger(__name__)

__all__ = [
    "Found",
    "MemorySearch",
    "Searcher",
    "WebSearch",
    "fuse",
    "keyword_overlap",
    "search_all",
]


class Searcher(Protocol):
    """Anything the loop can search: ``name`` is how the prompt and the log call it."""

    name: str

    async def search(self, query: str, limit: int) -> list[Found]: ...


_WORD = re.compile(r"[a-z0-9]+")


async def search_all(searchers: Sequence[Searcher], query: str, limit: int) -> list[Found]:
    """Every searcher's passages for ``query``, best first. A searcher that fails is skipped
    and logged: one source down must not stop the others."""
    results = await asyncio.gather(
        *(s.search(query, limit) for s in searchers), return_exceptions=True
    )
    found: list[Found] = []
    for searcher, result in zip(searchers, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("search in %s failed: %s", searcher.name, result)
        else:
            found.extend(result)
    return sorted(found, key=lambda f: -f.similarity)


def keyword_overlap(query: str, text: str) -> float:
    """The share of the query's content words found in ``text`` (plurals forgiven)."""
    wanted = {w for w in _WORD.findall(query.lower()) if w not in STOP_WORDS}
    if not wanted:
        return 0.0
    have = set(_WORD.findall(text.lower()))
    have |= {w[:-1] for w in have if w.endswith("s")}
    return sum(w in have or w.rstrip("s") in have for w in wanted) / len(wanted)


def fuse(rankings: Sequence[Sequence[str]], k: float = 60.0) -> list[str]:
    """Reciprocal rank fusion: keys ordered by the sum of 1 / (k + rank) over rankings, so a
    passage found by both full text and vectors comes first without comparing their scales."""
    score: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking):
            score[key] = score.get(key, 0.0) + 1.0 / (k + rank + 1)
    return sorted(score, key=lambda key: -score[key])


class MemorySearch:
    """Searches lines of what the session remembers, by meaning and by words.

    ``lines`` returns (title, text) pairs: the speaker and what they said, "on screen" and what
    was read. Lines are few (a session's working memory), so they are embedded on each search;
    long-term memory has its own index.
    """

    name = "memory"

    def __init__(
        self,
        lines: Callable[[], Awaitable[Sequence[tuple[str, str]]]],
        embedder: TextEmbedder,
    ) -> None:
        self._lines = lines
        self._embedder = embedder

    async def search(self, query: str, limit: int) -> list[Found]:
        lines = list(await self._lines())
        if not lines:
            return []
        texts = [f"{title}: {text}" for title, text in lines]
        vectors = self._embedder.embed([query, *texts])
        similarity = vectors[1:] @ vectors[0]
        by_meaning = [str(i) for i in np.argsort(-similarity)]
        overlap = [keyword_overlap(query, text) for text in texts]
        by_words = [
            str(i) for i in sorted(range(len(texts)), key=lambda i: -overlap[i]) if overlap[i]
        ]
        order = [int(i) for i in fuse([by_meaning, by_words])][:limit]
        return [
            Found(lines[i][0], lines[i][1], self.name, float(similarity[i]), names=False)
            for i in order
        ]


class WebSearch:
    """A web search API that answers ``GET url?q=...&format=json`` with ``{"results": [{"title",
    "content", "url"}]}`` (SearXNG's shape); ``key`` goes as a bearer token. Off by default:
    nothing here reaches the internet unless a URL is configured."""

    name = "web"

    def __init__(
        self, url: str, embedder: TextEmbedder, *, key: str = "", timeout: float = 10.0
    ) -> None:
        self.url = url
        self._embedder = embedder
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._timeout = timeout

    async def search(self, query: str, limit: int) -> list[Found]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                reply = await client.get(
                    self.url, params={"q": query, "format": "json"}, headers=self._headers
                )
                reply.raise_for_status()
                results = reply.json().get("results", [])[:limit]
        except (httpx.HTTPError, ValueError, AttributeError) as error:
            raise BackendError(
                f"web search at {self.url} failed: {error}",
                hint="check clarify.web_url and clarify.web_key, or leave web search off",
                retryable=True,
            ) from error
        pairs = [(str(r.get("title", "")), str(r.get("content", ""))) for r in results]
        if not pairs:
            return []
        vectors = self._embedder.embed([query, *(f"{t}: {c}" for t, c in pairs)])
        similarity = vectors[1:] @ vectors[0]
        return [
            Found(title, content, self.name, float(s))
            for (title, content), s in zip(pairs, similarity, strict=True)
        ]
