"""The long-term memory table: LanceDB embedded in a folder on disk.

A write is acknowledged (``add`` returns) only after LanceDB has committed a new table version,
so what was acknowledged survives a crash of the process. Appends from several threads or
processes are safe: LanceDB commits them optimistically and retries on conflict. Each commit
leaves a small fragment behind, so ``maintain`` sorts the new rows by scope, compacts small
fragments, folds new rows into the indices and prunes old versions (see :mod:`memory.layout`).
It runs every ``compact_every`` writes or ``maintain_every_rows`` rows, and as soon as the table
needs its ANN index (re)built: the first time it passes ``index_threshold`` rows (below that an
exact scan is fast and always right), and again whenever it has grown ``regrow_factor`` times
past the size the index was trained on, since IVF partitions trained on a small table grow too
big to scan quickly, or once it has more than ``max_index_segments`` delta segments to search.
The decision counts rows, not calls: a store written in big batches, or reopened often, would
otherwise never reach the call count that triggered it. The index name records the rows it
was trained on, so a reopened store knows. Maintenance runs on one background thread, not in
``add``: a writer whose rows are committed should neither wait for it nor see it fail (a
failure is logged, and a later pass retries). Writes that arrive during a pass schedule one
more pass, which then covers all of them. ``settle`` waits for the passes scheduled so far;
``close`` also stops the thread. Deletion compacts and prunes at once, so forgotten rows
leave no copy in older versions.

A vector search whose scope matches few rows (one speaker of one tenant) is answered exactly:
the ANN index probes a few partitions of the whole table, which hold only a handful of such
rows, while the bitmap indices find all of them in a millisecond, and since maintenance keeps
a scope's rows side by side, reading their vectors is quick. Broader scopes use the index:
IVF with 8-bit scalar codes, whose distances are close enough that re-ranking a few dozen
candidates on full vectors recovers exact order (1-bit RaBitQ codes needed 400).
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import lancedb
import numpy as np
from lancedb.index import FTS, Bitmap, IvfRq, IvfSq
from lancedb.query import LanceVectorQueryBuilder

from memory.layout import cluster_new_rows, compact, latest, prune, purge, refresh_indices
from memory.schema import SCHEMA, MemoryRecord, from_arrow, to_arrow
from memory.scope import Scope, check_id
from vigil.errors import BackendError

__all__ = ["LanceStore", "StoreOptions"]

log = logging.getLogger(__name__)

TABLE = "memory"
_FILTER_COLUMNS = ("tenant", "speaker", "session", "kind")
_VECTOR_INDEX = "vector_idx_"  # + the row count it was trained on
# what vector_search returns: no caller reads a hit's vector (it has the query and the similarity)
_HIT_COLUMNS = [name for name in SCHEMA.names if name != "vector"] + ["_distance"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """Maintenance and index settings (see the module docstring for why each exists)."""

    index_threshold: int = 50_000
    regrow_factor: float = 4.0
    # at 1M rows both train in about 40 s on two cores, where "ivf_pq" takes minutes at 100k
    # and "ivf_hnsw_sq" 220 s at 1M; "ivf_sq" codes are 8 times larger than "ivf_rq"'s 1-bit
    # codes but rank well enough to re-rank a few dozen rows instead of 400
    index_type: str = "ivf_sq"
    nprobes: int = 20  # of about sqrt(rows) partitions; 40 gained no recall at 1M rows
    # ANN candidates re-ranked on full vectors, whatever the limit: with 500 near neighbours
    # to a topic, "ivf_sq" reached recall@10 1.0 at 1M rows with 20; "ivf_rq" needs 400
    rerank_rows: int = 56
    # scopes matching fewer rows are searched exactly (their rows lie in runs, see
    # memory.layout): 2,500 rows of one speaker at 1M rows read in a few milliseconds
    exact_below: int = 5_000
    compact_every: int = 512
    maintain_every_rows: int = 100_000
    # each maintenance pass indexes new rows as a delta segment of the ANN index (see
    # memory.layout.refresh_indices); past this many the index is retrained in one piece
    max_index_segments: int = 4
    # compaction merges fragments up to this size and leaves bigger ones alone
    fragment_rows: int = 131_072
    keep_versions_for: timedelta = timedelta(minutes=5)


class LanceStore:
    """Memory rows of every tenant in one table; every read and delete takes a :class:`Scope`."""

    def __init__(self, root: Path | str, options: StoreOptions | None = None) -> None:
        self.root = Path(root)
        self.options = options or StoreOptions()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = lancedb.connect(self.root / "db")
        self.table = self.db.create_table(TABLE, schema=SCHEMA, exist_ok=True)
        self._writes = 0
        self._new_rows = 0
        self._rows = self.table.count_rows()
        self._trained_rows = self._vector_index_rows()
        self._counters = threading.Lock()
        self._maintenance = threading.Lock()
        self._fts = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-maintain")
        self._pass: Future[None] | None = None
        self._pass_queued = False
        self._closed = False

    # --- writes -------------------------------------------------------------------------------

    def add(self, records: Sequence[MemoryRecord]) -> int:
        """Commit ``records``; once this returns they are on disk. Returns how many."""
        if self._closed:
            raise BackendError("the memory store is closed", hint="open a new LanceStore")
        if not records:
            return 0
        for record in records:
            check_id(record.tenant, "tenant")
        self.table.add(to_arrow(records))
        with self._counters:
            self._writes += 1
            self._new_rows += len(records)
            self._rows += len(records)
            due = (
                self._writes >= self.options.compact_every
                or self._new_rows >= self.options.maintain_every_rows
                or self._rows >= self._next_index_build()
            )
        if due:
            self._schedule()
        return len(records)

    def media_dir(self, tenant: str, session: str) -> Path:
        """Where a session's keyframes and audio snippets go (deleted with the session)."""
        path = self.root / "media" / check_id(tenant, "tenant") / check_id(session, "session")
        path.mkdir(parents=True, exist_ok=True)
        return path

    def delete(self, scope: Scope) -> int:
        """Remove the rows in ``scope`` and the media files they reference, for good."""
        doomed = self.table.search().where(scope.where()).select(["keyframe", "audio"])
        files = doomed.limit(None).to_arrow().to_pylist()
        if not files:
            return 0
        self.table.delete(scope.where())
        media = (self.root / "media" / scope.tenant).resolve()
        for row in files:
            for name in (row["keyframe"], row["audio"]):
                path = Path(name).resolve() if name else None
                if path is not None and path.is_relative_to(media):
                    path.unlink(missing_ok=True)
        self._purge()
        return len(files)

    def drop_media(self, tenant: str, session: str) -> None:
        """Remove a session's media folder, including files no row referenced."""
        shutil.rmtree(
            self.root / "media" / check_id(tenant, "tenant") / check_id(session, "session"),
            ignore_errors=True,
        )

    # --- reads --------------------------------------------------------------------------------

    def count(self, scope: Scope) -> int:
        return self.table.count_rows(scope.where())

    def rows(self, scope: Scope, limit: int | None = None) -> list[MemoryRecord]:
        """Rows in ``scope``, oldest (by media end time, then wall time) first."""
        found = from_arrow(self.table.search().where(scope.where()).limit(limit).to_arrow())
        return sorted(found, key=lambda r: (r.wall_time, r.media_t1))

    def get(self, tenant: str, ids: Sequence[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        wanted = ", ".join(f"'{check_id(i, 'record')}'" for i in ids)
        where = f"{Scope(tenant=tenant).where()} AND id IN ({wanted})"
        return from_arrow(self.table.search().where(where).limit(len(ids)).to_arrow())

    def vector_search(
        self, scope: Scope, vector: np.ndarray, limit: int
    ) -> list[tuple[MemoryRecord, float]]:
        """Nearest rows in ``scope`` with their cosine similarity, best first. The records come
        without their vectors (a zero vector): callers have the query and the similarity."""
        where = scope.where()
        query = (
            self.table.search(np.asarray(vector, dtype=np.float32))
            .distance_type("cosine")
            .where(where, prefilter=True)
            .select(_HIT_COLUMNS)
            .limit(limit)
        )
        if not self._trained_rows or self.table.count_rows(where) < self.options.exact_below:
            query = query.bypass_vector_index()
        else:
            query = self.tuned(query, limit)
        table = query.to_arrow()
        similarity = 1.0 - np.asarray(table.column("_distance"), dtype=np.float64)
        return list(zip(from_arrow(table), similarity.tolist(), strict=True))

    def tuned(self, query: LanceVectorQueryBuilder, limit: int) -> LanceVectorQueryBuilder:
        """``query`` with the store's ANN settings (the bench uses it for unscoped queries)."""
        refine = max(1, math.ceil(self.options.rerank_rows / limit))
        return query.nprobes(self.options.nprobes).refine_factor(refine)

    def text_search(self, scope: Scope, text: str, limit: int) -> list[tuple[MemoryRecord, float]]:
        """Full-text (BM25) matches in ``scope`` with their score, best first."""
        self._ensure_fts()
        query = self.table.search(text, query_type="fts").where(scope.where(), prefilter=True)
        table = query.limit(limit).to_arrow()
        return list(zip(from_arrow(table), table.column("_score").to_pylist(), strict=True))

    # --- maintenance --------------------------------------------------------------------------

    def maintain(self) -> None:
        """Sort new rows by scope, index them, build the ANN and filter indices once the table
        is big enough, compact small fragments and prune old versions. Runs now, in the
        calling thread."""
        with self._maintenance:
            with self._counters:
                self._writes = self._new_rows = 0
            # before any index covers the new rows, which fixes their addresses; whatever is
            # committed from here on stays unsorted until the next pass if an index covers it,
            # so the indices come next, and the slow compaction last
            sorted_version = cluster_new_rows(
                latest(self.table), group_rows=self.options.maintain_every_rows
            )
            self.table.checkout_latest()
            self._ensure_fts()
            refresh_indices(sorted_version)
            self.table.checkout_latest()
            rows = self.table.count_rows()
            with self._counters:
                self._rows = rows
            if rows >= self.options.index_threshold:
                self._ensure_indices(rows)
            compact(latest(self.table), fragment_rows=self.options.fragment_rows)
            prune(latest(self.table), self.options.keep_versions_for)
            self.table.checkout_latest()

    def settle(self) -> None:
        """Wait until the maintenance passes scheduled so far have finished."""
        while (scheduled := self._pass) is not None and not scheduled.done():
            scheduled.result()

    def close(self) -> None:
        """Finish scheduled maintenance and stop its thread; later writes are refused."""
        with self._counters:
            self._closed = True
        self._worker.shutdown(wait=True)

    def _schedule(self) -> None:
        """Queue a background pass unless one is already waiting to start."""
        with self._counters:
            if self._pass_queued or self._closed:
                return
            self._pass_queued = True
            self._pass = self._worker.submit(self._background_pass)

    def _background_pass(self) -> None:
        with self._counters:
            self._pass_queued = False  # writes from now on need another pass
        try:
            self.maintain()
        except Exception:  # the rows are committed; a later pass retries
            log.exception("memory maintenance failed in %s", self.root)

    def has_vector_index(self) -> bool:
        return bool(self._vector_index_names())

    def _vector_index_names(self) -> list[str]:
        return [index.name for index in self.table.list_indices() if index.columns == ["vector"]]

    def _vector_index_segments(self) -> int:
        """The trained index plus the deltas added since (each one more search per query)."""
        return sum(
            len(index.segments)
            for index in latest(self.table).describe_indices()
            if index.name.startswith(_VECTOR_INDEX)
        )

    def _vector_index_rows(self) -> int:
        """Rows the current ANN index was trained on (0: none, or one this store did not name)."""
        names = self._vector_index_names()
        trained = [n.removeprefix(_VECTOR_INDEX) for n in names if n.startswith(_VECTOR_INDEX)]
        return max((int(t) for t in trained if t.isdigit()), default=0)

    def _next_index_build(self) -> float:
        if not self._trained_rows:
            return self.options.index_threshold
        return self._trained_rows * self.options.regrow_factor

    def _purge(self) -> None:
        with self._maintenance:
            purge(self.table, fragment_rows=self.options.fragment_rows)

    def _ensure_fts(self) -> None:
        """Build the full-text index on first need; two searches at once build it once."""
        with self._fts:
            if any(index.columns == ["text"] for index in self.table.list_indices()):
                return
            try:
                self.table.create_index("text", config=FTS(), replace=True)
            except RuntimeError as error:  # another process built it meanwhile
                if "commit conflict" not in str(error).lower():
                    raise

    def _ensure_indices(self, rows: int) -> None:
        """Bitmap indices on the filter columns (prefiltered searches then read a few bitmaps,
        not the whole column), and an ANN index trained on the table as it is now."""
        indexed = {tuple(index.columns) for index in self.table.list_indices()}
        missing = [column for column in _FILTER_COLUMNS if (column,) not in indexed]
        self._trained_rows = self._vector_index_rows()
        retrain = not (
            self._trained_rows
            and rows < self._next_index_build()
            and self._vector_index_segments() <= self.options.max_index_segments
        )
        if not missing and not retrain:
            return
        # a new index covers every fragment there is, sorted or not: sort what came meanwhile
        cluster_new_rows(latest(self.table), group_rows=self.options.maintain_every_rows)
        self.table.checkout_latest()
        for column in missing:
            self.table.create_index(column, config=Bitmap())
        if retrain:
            self._train_vector_index(rows)

    def _train_vector_index(self, rows: int) -> None:
        """Train a new ANN index on the whole table, named after ``rows``, and drop the old."""
        old = self._vector_index_names()
        name = f"{_VECTOR_INDEX}{rows}"
        self.table.create_index("vector", config=self._vector_config(rows), name=name)
        if name not in {i.name for i in self.table.list_indices()}:
            raise BackendError(f"the ANN index {name} was not committed", retryable=True)
        for stale in old:
            if stale != name:
                self.table.drop_index(stale)
        self._trained_rows = rows

    def _vector_config(self, rows: int) -> IvfSq | IvfRq:
        """About sqrt(rows) partitions; k-means on 64 samples per partition for 20 rounds,
        which trains in seconds and loses little against 256 samples and 50 rounds."""
        ivf = {
            "distance_type": "cosine",
            "num_partitions": max(1, round(math.sqrt(rows))),
            "sample_rate": 64,
            "max_iterations": 20,
        }
        match self.options.index_type:
            case "ivf_sq":
                return IvfSq(**ivf)
            case "ivf_rq":
                return IvfRq(**ivf)
        raise ValueError(f"unknown index type {self.options.index_type!r}")
