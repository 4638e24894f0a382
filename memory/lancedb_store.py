"""The long-term memory table: LanceDB embedded in a folder on disk.

A write is acknowledged (``add`` returns) only after LanceDB has committed a new table version,
so what was acknowledged survives a crash of the process. Appends from several threads or
processes are safe: LanceDB commits them optimistically and retries on conflict. Each commit
leaves a small fragment behind, so ``maintain`` sorts the new rows by scope, folds them into
the indices, compacts small fragments and prunes old versions (see :mod:`memory.layout` and
:mod:`memory.indices`). It runs every ``compact_every`` writes or ``maintain_every_rows`` rows,
and as soon as the table needs its ANN index (re)built: the first time it passes
``index_threshold`` rows (below that an exact scan is quick enough and always right), and again
whenever it has grown ``regrow_factor`` times past the size the index was trained on, since IVF
partitions trained on a small table grow too big to scan quickly. The decision counts rows, not
calls: a store written in big batches, or reopened often, would otherwise never reach the call
count that triggered it. Maintenance runs on one background thread, not in ``add``: a writer
whose rows are committed should neither wait for it nor see it fail (a failure is logged, and a
later pass retries). Writes that arrive during a pass schedule one more pass, which then covers
all of them. ``settle`` waits for the passes scheduled so far; ``close`` also stops the thread.
Deletion compacts and prunes at once, so forgotten rows leave no copy in older versions.

Reads go to the Lance dataset under the table, at its newest version, whoever committed it:
LanceDB's query builder hands each query to its own event loop thread and back, which cost 4 to
5 ms a query on two cores, a fifth of the latency budget at a million rows.

A vector search whose scope matches few rows (one speaker of one tenant) is answered exactly:
the ANN index probes a few partitions of the whole table, which hold only a handful of such
rows, while the bitmap indices find all of them in a millisecond, and since maintenance keeps
a scope's rows side by side, reading their vectors is quick. Broader scopes use the index:
IVF with 8-bit scalar codes, whose distances are close enough that re-ranking a few dozen
candidates on full vectors recovers exact order (1-bit RaBitQ codes needed 400).

A hit reads its fields from the row's ``record`` column (see :mod:`memory.schema`), and a full-
text hit its vector too, which ranking scores against the query.

New tables use Lance's file format 2.1: 2.2 (LanceDB's default) reads a column whose values are
all the same (``kind``, or ``keyframe`` when no frames are kept) by decoding the whole page:
4 to 5 ms for each such column of 28 rows at a million rows, against 0.4 ms in 2.1.
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

import lance
import lancedb
import numpy as np
import pyarrow as pa
from lance import LanceDataset
from lance.commit import CommitConflictError
from lancedb.table import LanceTable

from memory import indices
from memory.heap import configure_allocators, release_free_memory
from memory.layout import cluster_new_rows, compact, latest, prune, purge
from memory.schema import (
    FIELDS,
    RECORD_SCHEMA,
    SCHEMA,
    MemoryRecord,
    from_arrow,
    from_record_column,
    record_column,
    to_arrow,
)
from memory.scope import Scope, check_id
from vigil.errors import BackendError

__all__ = ["LanceStore", "StoreOptions", "nearest"]

log = logging.getLogger(__name__)

TABLE = "memory"
_FILE_FORMAT = "2.1"  # see the module docstring
# what a whole row is read as (the record column holds the same fields again)
_ROW_COLUMNS = [*FIELDS, "vector"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOptions:
    """Maintenance and index settings (see the module docstring for why each exists)."""

    # an exact search reads every vector in scope: at 40k rows 83 ms a query, against 6.6 ms
    # through an index (at 10k, 15 to 25 ms)
    index_threshold: int = 10_000
    # partitions grow with the table until it is retrained: at a million rows, an index trained
    # on 330k rows took 11 ms a query, one trained on all of them 8.5
    regrow_factor: float = 2.0
    # at 1M rows both train in about 40 s on two cores, where "ivf_pq" takes minutes at 100k
    # and "ivf_hnsw_sq" 220 s at 1M; "ivf_sq" codes are 8 times larger than "ivf_rq"'s 1-bit
    # codes but rank well enough to re-rank a few dozen rows instead of 400
    index_type: str = "ivf_sq"
    # of about sqrt(rows) partitions. Near a topic's centre 10 find every neighbour; halfway
    # between two topics, at 1M rows, recall@10 was 0.977 with 20, 0.996 with 30 and with 40,
    # and each 10 more cost about 0.6 ms a query
    nprobes: int = 30
    # ANN candidates re-ranked on full vectors, whatever the limit: with 500 near neighbours
    # to a topic, "ivf_sq" reached recall@10 1.0 at 1M rows with 20; "ivf_rq" needs 400
    rerank_rows: int = 56
    # scopes matching fewer rows are searched exactly (their rows lie in runs, see
    # memory.layout): 2,500 rows of one speaker at 1M rows read in a few milliseconds
    exact_below: int = 5_000
    compact_every: int = 512
    maintain_every_rows: int = 100_000
    # compaction merges fragments up to this size and leaves bigger ones alone
    fragment_rows: int = 131_072
    keep_versions_for: timedelta = timedelta(minutes=5)
    # index pages the query handle keeps (the ANN index of a million rows takes 390 MB); a
    # bigger index is read from disk partly, as queries need it
    index_cache_mb: int = 1024


def nearest(
    dataset: LanceDataset,
    vector: np.ndarray,
    limit: int,
    options: StoreOptions,
    *,
    where: str | None,
    columns: list[str],
    exact: bool = False,
) -> pa.Table:
    """The ``limit`` rows of ``dataset`` matching ``where`` nearest to ``vector`` (cosine),
    and their ``_distance``: exactly, or through the ANN index with ``options``' settings."""
    query: dict[str, object] = {
        "column": "vector",
        "q": np.asarray(vector, dtype=np.float32),
        "k": limit,
        "metric": "cosine",
    }
    if exact:
        query["use_index"] = False
    else:
        query["nprobes"] = options.nprobes
        query["refine_factor"] = max(1, math.ceil(options.rerank_rows / limit))
    return dataset.to_table(
        columns=[*columns, "_distance"],
        filter=where,
        prefilter=True,
        nearest=query,
        disable_scoring_autoprojection=True,
    )


class LanceStore:
    """Memory rows of every tenant in one table; every read and delete takes a :class:`Scope`."""

    def __init__(self, root: Path | str, options: StoreOptions | None = None) -> None:
        configure_allocators()
        self.root = Path(root)
        self.options = options or StoreOptions()
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = lancedb.connect(self.root / "db")
        self.table = self._open_table()
        self._dataset: LanceDataset
        self._renew_handle()
        self._writes = 0
        self._new_rows = 0
        self._rows = self._dataset.count_rows()
        self._trained_rows = indices.vector_index_rows(self._dataset)
        self._counters = threading.Lock()
        self._maintenance = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="memory-maintain")
        self._pass: Future[None] | None = None
        self._pass_queued = False
        self._closed = False

    def _open_table(self) -> LanceTable:
        """The memory table, created if missing; a table written before rows carried their
        ``record`` column gets it here (13 s at a million rows, once; like maintenance, this
        needs the folder writable)."""
        try:
            table = self.db.open_table(TABLE)
        except ValueError:  # not there yet
            return self.db.create_table(
                TABLE, schema=SCHEMA, exist_ok=True, data_storage_version=_FILE_FORMAT
            )
        if "record" not in table.schema.names:
            log.info("memory store %s: adding the record column to every row", self.root)
            try:
                # the output schema is given, not inferred from a first batch: a table
                # without rows has none
                udf = lance.batch_udf(output_schema=RECORD_SCHEMA)(record_column)
                latest(table).add_columns(udf, read_columns=FIELDS)
            except CommitConflictError:  # another store on this folder added it meanwhile
                if "record" not in latest(table).schema.names:
                    raise
            table.checkout_latest()
        return table

    def snapshot(self) -> LanceDataset:
        """The table's dataset at its newest version, whoever committed it. Checking out the
        newest version of the one handle keeps its caches (index partitions, file metadata),
        which a freshly opened dataset lacks: a query on one took 34 ms instead of 12."""
        dataset = self._dataset
        newest = dataset.latest_version
        if newest != dataset.version:
            dataset = self._dataset = dataset.checkout_version(newest)
        return dataset

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
        files = self.snapshot().to_table(columns=["keyframe", "audio"], filter=scope.where())
        if not files.num_rows:
            return 0
        self.table.delete(scope.where())
        media = (self.root / "media" / scope.tenant).resolve()
        for row in files.to_pylist():
            for name in (row["keyframe"], row["audio"]):
                path = Path(name).resolve() if name else None
                if path is not None and path.is_relative_to(media):
                    path.unlink(missing_ok=True)
        self._purge()
        return files.num_rows

    def drop_media(self, tenant: str, session: str) -> None:
        """Remove a session's media folder, including files no row referenced."""
        shutil.rmtree(
            self.root / "media" / check_id(tenant, "tenant") / check_id(session, "session"),
            ignore_errors=True,
        )

    # --- reads --------------------------------------------------------------------------------

    def count(self, scope: Scope) -> int:
        return self.snapshot().count_rows(scope.where())

    def rows(self, scope: Scope, limit: int | None = None) -> list[MemoryRecord]:
        """Rows in ``scope``, oldest (by media end time, then wall time) first."""
        found = from_arrow(
            self.snapshot().to_table(columns=_ROW_COLUMNS, filter=scope.where(), limit=limit)
        )
        return sorted(found, key=lambda r: (r.wall_time, r.media_t1))

    def get(self, tenant: str, ids: Sequence[str]) -> list[MemoryRecord]:
        if not ids:
            return []
        wanted = ", ".join(f"'{check_id(i, 'record')}'" for i in ids)
        where = f"{Scope(tenant=tenant).where()} AND id IN ({wanted})"
        return from_arrow(self.snapshot().to_table(columns=_ROW_COLUMNS, filter=where))

    def vector_search(
        self, scope: Scope, vector: np.ndarray, limit: int
    ) -> list[tuple[MemoryRecord, float]]:
        """Nearest rows in ``scope`` with their cosine similarity, best first. The records come
        without their vectors (a zero vector): callers have the query and the similarity."""
        dataset = self.snapshot()
        where = scope.where()
        exact = not self._trained_rows or dataset.count_rows(where) < self.options.exact_below
        table = nearest(
            dataset, vector, limit, self.options, where=where, columns=["record"], exact=exact
        )
        similarity = 1.0 - np.asarray(table.column("_distance"), dtype=np.float64)
        return list(zip(from_record_column(table), similarity.tolist(), strict=True))

    def text_search(self, scope: Scope, text: str, limit: int) -> list[tuple[MemoryRecord, float]]:
        """Full-text (BM25) matches in ``scope`` with their score, best first, and with their
        vectors (ranking scores a hit found by text alone on it). The first search of a table
        without a full-text index runs a maintenance pass, which builds it."""
        if not indices.has_index(self.snapshot(), "text"):
            self.maintain()
        table = self.snapshot().to_table(
            columns=["record", "vector", "_score"],
            full_text_query=text,
            filter=scope.where(),
            prefilter=True,
            limit=limit,
            disable_scoring_autoprojection=True,
        )
        scores = table.column("_score").to_pylist()
        return list(zip(from_record_column(table), scores, strict=True))

    def has_vector_index(self) -> bool:
        return indices.vector_index_rows(self.snapshot()) > 0

    # --- maintenance --------------------------------------------------------------------------

    def maintain(self) -> None:
        """Sort new rows by scope, index them, build the ANN and filter indices once the table
        is big enough, compact small fragments and prune old versions. Runs now, in the
        calling thread."""
        with self._maintenance:
            with self._counters:
                self._writes = self._new_rows = 0
            # the indices cover the version the sort committed (see memory.indices), and the
            # slow compaction comes last
            sorted_version = cluster_new_rows(
                latest(self.table), group_rows=self.options.maintain_every_rows
            )
            indices.refresh(sorted_version)
            self._ensure_indices(sorted_version)
            compact(latest(self.table), fragment_rows=self.options.fragment_rows)
            prune(latest(self.table), self.options.keep_versions_for)
            self.table.checkout_latest()
            rows = self.snapshot().count_rows()
            with self._counters:
                self._rows = rows
            self._renew_handle()
        release_free_memory()

    def _renew_handle(self) -> None:
        """Give queries a new handle on the table and load into its caches what they read: the
        ANN index (a new one after each update) and each data file's metadata (new files after
        compaction). On a handle that loads them as queries come, the first 200 queries after
        a pass at a million rows took 29 ms at p99 instead of 13. The new handle is in use
        before it is loaded, so that the old one's cached index (390 MB at a million rows) is
        freed first rather than held beside the new one."""
        self._dataset = dataset = lance.dataset(
            self.table.uri, index_cache_size_bytes=self.options.index_cache_mb << 20
        )
        for name in indices.vector_index_names(dataset):
            dataset.prewarm_index(name)
        for fragment in dataset.get_fragments():
            fragment.take([0])

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

    def _next_index_build(self) -> float:
        if not self._trained_rows:
            return self.options.index_threshold
        return self._trained_rows * self.options.regrow_factor

    def _purge(self) -> None:
        with self._maintenance:
            purge(self.table, fragment_rows=self.options.fragment_rows)

    def _ensure_indices(self, dataset: LanceDataset) -> None:
        """The full-text index from the first pass; once the table is big enough, bitmap
        indices on the filter columns and an ANN index, retrained when it is due."""
        if not indices.has_index(dataset, "text"):
            indices.create_text_index(dataset)
        rows = dataset.count_rows()
        if rows < self.options.index_threshold:
            return
        missing = [c for c in indices.FILTER_COLUMNS if not indices.has_index(dataset, c)]
        indices.create_bitmaps(dataset, missing)
        self._trained_rows = indices.vector_index_rows(dataset)
        if not self._trained_rows or rows >= self._next_index_build():
            indices.train_vector_index(dataset, index_type=self.options.index_type)
            self._trained_rows = rows
