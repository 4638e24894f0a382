"""How memory rows lie on disk: clustered by scope, compacted without rewriting settled data.

Rows arrive in commit order, one stream's utterances and clips interleaved with every other
stream's, so one speaker's rows end up scattered over the whole table, and a search scoped to
that speaker reads thousands of vectors one by one (40 ms for 2,500 rows at a million; read
as a few runs, the same rows take 4 ms). So before new rows are folded into the indices, the
fragments no index covers yet are rewritten sorted by tenant, speaker and session: each
maintenance pass leaves every scope's new rows side by side. Only uncovered fragments are
rewritten, because their row addresses are not in any index yet and nothing needs remapping.

Compaction then merges fragments only up to ``fragment_rows`` and copies their pages as they
are where it can: LanceDB's own ``optimize`` merges everything under a million rows, so with a
growing table every pass rewrote the whole table, which capped sustained ingest.

These steps use ``pylance`` (the engine under LanceDB, pinned to the version LanceDB bundles),
since LanceDB's API offers neither an ordered rewrite nor compaction options.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import lance
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lance import LanceDataset, LanceOperation
from lance.fragment import LanceFragment, write_fragments
from lancedb.table import LanceTable

from memory import indices

__all__ = ["cluster_new_rows", "compact", "latest", "prune", "purge"]

_CHUNK_ROWS = 8192  # rows fetched and written at a time while sorting
CLUSTER_ORDER = [
    ("tenant", "ascending"),
    ("speaker", "ascending"),
    ("session", "ascending"),
    ("wall_time", "ascending"),
]


def latest(table: LanceTable) -> LanceDataset:
    """The dataset under ``table`` at its newest version, whoever committed it."""
    return lance.dataset(table.uri)


def cluster_new_rows(dataset: LanceDataset, *, group_rows: int, rounds: int = 3) -> LanceDataset:
    """Rewrite the unsorted fragments no index covers, sorted by scope; returns the dataset as
    of the last rewrite. Index that version, not the latest: rows committed since are still
    unsorted, and once an index covers them they stay where they are.

    The version a rewrite commits also holds the rows appended while it sorted, so it sorts
    again, up to ``rounds`` times, each round shorter than the last; what the last round's
    commit picked up is indexed as it came. Fragments are sorted in groups of about
    ``group_rows`` rows, so a pass that finds many rows waiting holds one group in memory at a
    time. A fragment with deleted rows is left alone (the compaction that drops them renumbers
    its rows anyway), and so is one already in order: what an earlier round wrote, or a single
    commit that happened to be."""
    for _ in range(rounds):
        unsorted = [fragment for fragment in _unindexed(dataset) if not _in_order(fragment)]
        if not unsorted:
            break
        groups: list[list[LanceFragment]] = [[]]
        rows = 0
        for fragment in unsorted:
            if rows >= group_rows:
                groups.append([])
                rows = 0
            groups[-1].append(fragment)
            rows += fragment.count_rows()
        rewrites = [_sorted_copy(dataset, group) for group in groups]
        operation = LanceOperation.Rewrite(groups=rewrites, rewritten_indices=[])
        dataset = LanceDataset.commit(dataset.uri, operation, read_version=dataset.version)
    return dataset


def _unindexed(dataset: LanceDataset) -> list[LanceFragment]:
    """Fragments no index covers and none of whose rows are deleted."""
    covered = set().union(*indices.covered_fragments(dataset).values())
    return [
        fragment
        for fragment in dataset.get_fragments()
        if fragment.fragment_id not in covered and fragment.metadata.deletion_file is None
    ]


def _in_order(fragment: LanceFragment) -> bool:
    keys = fragment.to_table(columns=[column for column, _ in CLUSTER_ORDER])
    order = pc.sort_indices(keys, sort_keys=CLUSTER_ORDER).to_numpy()
    return bool(np.array_equal(order, np.arange(len(order))))


def _sorted_copy(
    dataset: LanceDataset, fragments: list[LanceFragment]
) -> LanceOperation.RewriteGroup:
    """New fragment files holding the rows of ``fragments`` sorted by scope (not committed).

    Only the sort keys are read whole; rows are then fetched and written a chunk at a time,
    because sorting whole rows held the group twice in memory and set the peak RSS."""
    keys = dataset.scanner(
        fragments=fragments,
        columns=[column for column, _ in CLUSTER_ORDER],
        with_row_address=True,
    ).to_table()
    order = pc.sort_indices(keys, sort_keys=CLUSTER_ORDER)
    addresses = pc.take(keys["_rowaddr"], order).to_numpy()
    by_id = {fragment.fragment_id: fragment for fragment in fragments}

    def chunks() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(addresses), _CHUNK_ROWS):
            chunk = addresses[start : start + _CHUNK_ROWS]
            owners, offsets = chunk >> 32, chunk & 0xFFFFFFFF
            parts, places = [], []
            for owner in np.unique(owners):
                mine = np.flatnonzero(owners == owner)
                mine = mine[np.argsort(offsets[mine])]  # a fragment reads offsets in order
                parts.append(by_id[int(owner)].take(offsets[mine]))
                places.append(mine)
            rows = pa.concat_tables(parts).take(np.argsort(np.concatenate(places)))
            yield from rows.to_batches()

    reader = pa.RecordBatchReader.from_batches(dataset.schema, chunks())
    written = write_fragments(reader, dataset, schema=dataset.schema)
    return LanceOperation.RewriteGroup(
        old_fragments=[fragment.metadata for fragment in fragments], new_fragments=written
    )


def compact(dataset: LanceDataset, *, fragment_rows: int, deletions_threshold: float = 0.1) -> None:
    """Merge small fragments up to ``fragment_rows`` and drop deleted rows from fragments
    where more than ``deletions_threshold`` of them are deleted (0: wherever any are)."""
    dataset.optimize.compact_files(
        target_rows_per_fragment=fragment_rows,
        materialize_deletions_threshold=deletions_threshold,
        compaction_mode="try_binary_copy",
    )


def prune(dataset: LanceDataset, older_than: timedelta) -> None:
    """Delete the files of versions older than ``older_than`` (the newest always stays)."""
    dataset.cleanup_old_versions(older_than=older_than, error_if_tagged_old_versions=False)


def purge(table: LanceTable, *, fragment_rows: int = 1 << 20) -> None:
    """Rewrite every fragment of ``table`` that has deleted rows, fold the survivors into the
    indices and drop every older version, so deleted rows leave no copy on disk.

    A reader still on an older version then fails: a price paid only when something is
    forgotten, which is the point of forgetting."""
    compact(latest(table), fragment_rows=fragment_rows, deletions_threshold=0.0)
    indices.refresh(latest(table))
    prune(latest(table), timedelta(0))
    table.checkout_latest()
