"""A local document index over files the user adds: full text and vectors, on disk.

Files are cut into passages (a JSON Lines row with ``title`` and ``text``, or a paragraph of a
text or Markdown file, titled by the file's name) and kept in a LanceDB table beside their
MiniLM vectors, as memory keeps its rows. A search runs the query both ways, BM25 on the
words and cosine on the meaning, and fuses the two rankings: a name or a year is found by its
words, a paraphrase by its meaning.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

import lancedb
import numpy as np

from memory.embeddings import TextEmbedder
from reaction.search import fuse
from vigil.errors import ConfigError
from vigil.passages import Found

__all__ = ["DocumentIndex", "read_passages"]

_TABLE = "documents"
_TEXT_SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 50_000_000


def read_passages(path: Path) -> list[tuple[str, str]]:
    """(title, text) passages of one file; a clear error for what cannot be read."""
    if not path.is_file():
        raise ConfigError(f"no document at {path}", hint="give a .jsonl, .txt or .md file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{path} is over {MAX_FILE_BYTES // 1_000_000} MB", hint="split it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text", hint="convert it to text first") from error
    if path.suffix == ".jsonl":
        passages = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                passages.append((str(row.get("title", "")), str(row["text"])))
            except (ValueError, KeyError, AttributeError) as error:
                raise ConfigError(
                    f"{path}:{number} is not a JSON object with a text field",
                    hint='write one {"title": ..., "text": ...} per line',
                ) from error
        return passages
    if path.suffix not in _TEXT_SUFFIXES:
        raise ConfigError(f"cannot index {path.name}", hint="give a .jsonl, .txt or .md file")
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return [(path.stem, p) for p in paragraphs if p]


class DocumentIndex:
    """Passages in a LanceDB table under ``root``; ``search`` satisfies :class:`Searcher`."""

    name = "documents"

    def __init__(self, root: Path, embedder: TextEmbedder) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._db = lancedb.connect(root)
        self._embedder = embedder
        self._table = self._db.open_table(_TABLE) if _TABLE in self._db.table_names() else None
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return 0 if self._table is None else self._table.count_rows()

    def add(self, passages: Iterable[tuple[str, str]], source: str = "documents") -> int:
        """Index passages (one already indexed, same title and text, is skipped); how many were
        new."""
        known = set() if self._table is None else set(self._table.to_arrow()["id"].to_pylist())
        rows, seen = [], set()
        for title, text in passages:
            key = hashlib.sha256(f"{title}\0{text}".encode()).hexdigest()[:20]
            if key not in known and key not in seen:
                seen.add(key)
                rows.append({"id": key, "title": title, "text": text, "source": source})
        if not rows:
            return 0
        vectors = self._embedder.embed([f"{r['title']}: {r['text']}" for r in rows])
        for row, vector in zip(rows, vectors, strict=True):
            row["vector"] = vector
        if self._table is None:
            self._table = self._db.create_table(_TABLE, rows)
        else:
            self._table.add(rows)
        from lancedb.index import FTS

        self._table.create_index("text", config=FTS(), replace=True)
        return len(rows)

    def add_files(self, paths: Iterable[Path]) -> int:
        """Index every passage of ``paths`` (see :func:`read_passages`)."""
        return sum(self.add(read_passages(path), source=path.name) for path in paths)

    async def search(self, query: str, limit: int) -> list[Found]:
        if self._table is None or not query.strip():
            return []
        async with self._lock:  # LanceDB handles are not shared across threads mid-query
            return await asyncio.to_thread(self._search, query, limit)

    def _search(self, query: str, limit: int) -> list[Found]:
        assert self._table is not None
        vector = self._embedder.embed([query])[0]
        wide = max(limit * 3, 10)
        by_meaning = self._table.search(vector).distance_type("cosine").limit(wide).to_list()
        words = re.sub(r"[^\w\s]", " ", query)  # the full-text parser reads quotes and colons
        by_words = self._table.search(words, query_type="fts").limit(wide).to_list()
        rows = {row["id"]: row for row in [*by_meaning, *by_words]}
        order = fuse([[r["id"] for r in by_meaning], [r["id"] for r in by_words]])[:limit]
        return [
            Found(
                rows[key]["title"],
                rows[key]["text"],
                rows[key]["source"],
                float(np.dot(np.asarray(rows[key]["vector"], dtype=np.float32), vector)),
            )
            for key in order
        ]
