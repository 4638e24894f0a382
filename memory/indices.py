"""The memory table's indices, built and updated at the version maintenance has just sorted.

An index fixes where the rows it covers lie: :mod:`memory.layout` sorts only rows that no index
covers yet. Built on the newest version, an index would also cover the rows committed while
maintenance was sorting, unsorted for good. So every index here is built and updated at the
version the sort committed, and rows committed after it wait, unindexed and searched exactly,
for the next pass. (That version still holds what was appended during the last round of
sorting: with a million rows written as fast as they can be, 240,000 rows were left unsorted
before, 140,000 now; at the pace of a live agent, none.) A dataset object moves to the version
each of these commits (which holds every row appended meanwhile), so each step starts again
from the version asked for.
"""

from __future__ import annotations

import math

from lance import LanceDataset
from lance.commit import CommitConflictError

__all__ = [
    "FILTER_COLUMNS",
    "covered_fragments",
    "create_bitmaps",
    "create_text_index",
    "has_index",
    "pinned",
    "refresh",
    "train_vector_index",
    "vector_index_names",
    "vector_index_rows",
]

FILTER_COLUMNS = ("tenant", "speaker", "session", "kind")
_TEXT_INDEX = "text_idx"
_VECTOR_INDEX = "vector_idx_"  # + the rows it was trained on, so a reopened store knows
_VECTOR_TYPES = {"ivf_sq": ("IVF_SQ", {}), "ivf_rq": ("IVF_RQ", {"num_bits": 1})}


def create_text_index(dataset: LanceDataset) -> None:
    """The full-text (BM25) index on ``text``, with Lance's default tokenizer (lower case,
    English stemming and stop words, the same as LanceDB's ``FTS()``)."""
    _create_scalar(dataset, "text", "INVERTED", _TEXT_INDEX)


def create_bitmaps(dataset: LanceDataset, columns: list[str]) -> None:
    """Bitmap indices on filter columns: a prefiltered search reads a few bitmaps, not the
    whole column."""
    for column in columns:
        _create_scalar(dataset, column, "BITMAP", f"{column}_idx")


def _create_scalar(dataset: LanceDataset, column: str, kind: str, name: str) -> None:
    """Build one scalar index; another process that built the same one meanwhile (two stores
    on one folder) wins the commit, and that is as good."""
    try:
        pinned(dataset).create_scalar_index(column, kind, name=name)
    except CommitConflictError:
        if not has_index(dataset.checkout_version(dataset.latest_version), column):
            raise


def train_vector_index(dataset: LanceDataset, *, index_type: str) -> None:
    """Train a new ANN index on every row of ``dataset`` and drop the old ones.

    About sqrt(rows) partitions; k-means on 64 samples per partition for 20 rounds, which
    trains in seconds and loses little against 256 samples and 50 rounds."""
    if index_type not in _VECTOR_TYPES:
        raise ValueError(f"unknown index type {index_type!r}; choose from {sorted(_VECTOR_TYPES)}")
    lance_type, extra = _VECTOR_TYPES[index_type]
    rows = dataset.count_rows()
    old = vector_index_names(dataset)
    name = f"{_VECTOR_INDEX}{rows}"
    pinned(dataset).create_index(
        "vector",
        lance_type,
        name=name,
        metric="cosine",
        num_partitions=max(1, round(math.sqrt(rows))),
        sample_rate=64,
        max_iters=20,
        replace=True,
        **extra,
    )
    newest = dataset.checkout_version(dataset.latest_version)
    for stale in old:
        if stale != name:
            newest.drop_index(stale)


def refresh(dataset: LanceDataset) -> None:
    """Fold the rows of ``dataset`` that its indices do not cover yet into them, one segment
    per index.

    An update either adds a delta segment or merges into the index. Each delta costs every
    query one more search: at a million rows, 2 segments took 12 ms a query and 1 took 8.5.
    Lance's default leaves that choice to its own rebalancing, which joined all 316 partitions
    of an index trained on 100k rows into 4 (recall@10 at a million rows fell to 0.7). Merging
    every segment into one, as asked here, keeps the trained partitions (and folds the deltas
    an earlier version of this store left); it takes 2 to 4 s at a million rows."""
    fragments = {fragment.fragment_id for fragment in dataset.get_fragments()}
    covered = covered_fragments(dataset)
    by_segments: dict[int, list[str]] = {}
    for index in dataset.describe_indices():  # a merge rewrites the index whole: only if due
        if len(index.segments) > 1 or not fragments <= covered[index.name]:
            by_segments.setdefault(len(index.segments), []).append(index.name)
    for segments, names in by_segments.items():
        pinned(dataset).optimize.optimize_indices(index_names=names, num_indices_to_merge=segments)


def vector_index_rows(dataset: LanceDataset) -> int:
    """Rows the current ANN index was trained on (0: none, or one the store did not name)."""
    trained = [name.removeprefix(_VECTOR_INDEX) for name in vector_index_names(dataset)]
    return max((int(rows) for rows in trained if rows.isdigit()), default=0)


def covered_fragments(dataset: LanceDataset) -> dict[str, set[int]]:
    """Each index's name and the ids of the fragments it covers, in any of its segments."""
    return {
        index.name: set().union(*(segment.fragment_ids for segment in index.segments))
        for index in dataset.describe_indices()
    }


def has_index(dataset: LanceDataset, column: str) -> bool:
    return any(index.field_names == [column] for index in dataset.describe_indices())


def pinned(dataset: LanceDataset) -> LanceDataset:
    """A handle on ``dataset``'s own version, whatever a commit through it does to it."""
    return dataset.checkout_version(dataset.version)


def vector_index_names(dataset: LanceDataset) -> list[str]:
    return [index.name for index in dataset.describe_indices() if index.field_names == ["vector"]]
