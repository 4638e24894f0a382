"""Long-term memory at scale: ingest rate, query latency, disk and memory footprint.

(Run it as a module: as a script, this file would shadow the ``memory`` package.)

For each size, a fresh LanceDB store is filled with synthetic records (384-d unit vectors drawn
around topic centres, about 500 records to a topic, as real embeddings cluster; 10 tenants, 40
speakers each), committed in batches through ``LanceStore.add``, which schedules background
maintenance as it grows (ANN index once past its threshold, retrained as the table outgrows
it); then a last ``maintain`` folds the tail into the indices and queries run unfiltered
(straight on the table), scoped to a tenant, and scoped to a tenant and one speaker (1 row in
400, which the store searches exactly).

    python -m bench.memory [--sizes 10000,100000,1000000] [--out reports/bench-memory.json]

Two ingest rates: what a writer sees (time in ``add`` calls: records to Arrow and commits, not
the generation of synthetic data), and the sustained rate, from the first ``add`` until the
background maintenance has caught up (generation included, so it is a lower bound). The last
``maintain`` is timed on its own. Latency is per query, single-threaded (the three kinds take
turns, query by query), p50/p99 over ``--queries`` queries; recall@10 compares the store's
answer with an exact scan on a sample, and again for queries halfway between two topics (the
harder case, which shows what ``--nprobes`` buys). The queries then run again on a cold store,
as after a restart on a machine whose page cache no longer holds it: the store is closed, its
files are dropped from the page cache (``posix_fadvise``, Linux) and it is reopened; the time
to reopen, the first query's, and p50/p99 over fresh queries while the cache refills.
Disk is measured as left by maintenance (older versions kept a few minutes for readers still on
them) and again after pruning every older version. RSS is this process's, current and peak.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psutil
from rich.progress import Progress

from memory.heap import release_free_memory
from memory.lancedb_store import LanceStore, StoreOptions, nearest
from memory.layout import purge
from memory.schema import EMBEDDING_DIM, MemoryRecord, from_record_column
from memory.scope import Scope

TENANTS = 10
SPEAKERS = 40
PER_TOPIC = 500
Query = Callable[[np.ndarray], object]
WORDS = [
    "red",
    "blue",
    "car",
    "house",
    "piano",
    "garden",
    "walk",
    "talk",
    "dog",
    "cat",
    "window",
    "photo",
    "bicycle",
    "jazz",
]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def batches(size: int, batch: int, centres: np.ndarray, seed: int) -> Iterator[list[MemoryRecord]]:
    rng = np.random.default_rng(seed)
    for start in range(0, size, batch):
        n = min(batch, size - start)
        topic = rng.integers(0, len(centres), n)
        vectors = unit(centres[topic] + 0.6 * rng.standard_normal((n, EMBEDDING_DIM)) / 20)
        words = rng.choice(WORDS, (n, 5))
        yield [
            MemoryRecord(
                tenant=f"t{(start + i) % TENANTS}",
                stream=f"s{(start + i) % 3}",
                session=f"sess{(start + i) // 5000}",
                kind="utterance",
                speaker=f"spk{(start + i) // TENANTS % SPEAKERS}",
                text=" ".join(words[i]),
                vector=vectors[i],
                media_t0=float(start + i),
                media_t1=float(start + i) + 1.0,
                wall_time=1.7e9 + start + i,
            )
            for i in range(n)
        ]


def query_runs(store: LanceStore, scopes: dict[str, Scope]) -> dict[str, Query]:
    """The three kinds of query on ``store``, each asking for 28 hits (Dispider's most)."""
    # the store offers no query without a tenant: this one goes straight to the table
    runs: dict[str, Query] = {"unscoped": lambda q: unscoped(store, q, 28)}
    for name, scope in scopes.items():
        runs[name] = lambda q, s=scope: store.vector_search(s, q, 28)
    return runs


def latencies(runs: dict[str, Query], queries: np.ndarray) -> dict[str, dict[str, float]]:
    """p50/p99 of each kind of query, in ms. The kinds take turns, query by query, so that a
    slow spell of this shared machine falls on all of them alike rather than on whichever
    kind happened to be running."""
    for run in runs.values():
        run(queries[0])  # warm caches
    times: dict[str, list[float]] = {name: [] for name in runs}
    for q in queries:
        for name, run in runs.items():
            start = time.perf_counter()
            run(q)
            times[name].append((time.perf_counter() - start) * 1000)
    summary = {}
    for name, measured in times.items():
        ordered = sorted(measured)
        summary[name] = {
            "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
            "n": len(ordered),
        }
    return summary


def recall_at_10(
    search: Callable[[np.ndarray], list[str]],
    store: LanceStore,
    where: str | None,
    queries: np.ndarray,
) -> float | None:
    """Share of the exact top 10 (a full scan matching ``where``) that ``search`` returns."""
    if not store.has_vector_index():
        return None
    hits = 0
    for q in queries:
        exact = nearest(
            store.snapshot(), q, 10, store.options, where=where, columns=["id"], exact=True
        )
        hits += len(set(search(q)) & set(exact["id"].to_pylist()))
    return round(hits / (10 * len(queries)), 3)


def unscoped(store: LanceStore, q: np.ndarray, limit: int) -> list[str]:
    """Ids of the nearest rows of all tenants, read as the store reads its hits."""
    found = nearest(store.snapshot(), q, limit, store.options, where=None, columns=["record"])
    return [record.id for record in from_record_column(found)]


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def drop_page_cache(path: Path) -> None:
    """Evict ``path``'s files from the page cache, so that reads go to the disk again (as
    after a restart, or once the kernel reclaimed pages left idle). Written pages are flushed
    first: the kernel keeps dirty ones."""
    for file in (f for f in path.rglob("*") if f.is_file()):
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold_queries(
    root: Path, options: StoreOptions, scopes: dict[str, Scope], queries: np.ndarray
) -> dict[str, object]:
    """Reopen the store at ``root`` from a cold page cache and time its queries."""
    if not hasattr(os, "posix_fadvise"):
        return {"skipped": "this system cannot drop files from the page cache (posix_fadvise)"}
    drop_page_cache(root)
    start = time.perf_counter()
    store = LanceStore(root, options)
    result: dict[str, object] = {"reopen_ms": round((time.perf_counter() - start) * 1000, 1)}
    runs = query_runs(store, scopes)
    start = time.perf_counter()
    runs["unscoped"](queries[0])
    result["first_query_ms"] = round((time.perf_counter() - start) * 1000, 1)
    for name, measured in latencies(runs, queries[1:]).items():
        result[f"query_{name}"] = measured
    store.close()
    return result


def fill(
    store: LanceStore, size: int, args: argparse.Namespace, centres: np.ndarray, progress: Progress
) -> dict[str, object]:
    """Add ``size`` records in batches, then let maintenance catch up; the rates measured."""
    task = progress.add_task(f"ingest {size:,}", total=size)
    ingest_s = 0.0
    began = time.perf_counter()
    for records in batches(size, args.batch, centres, seed=size):
        start = time.perf_counter()
        store.add(records)
        ingest_s += time.perf_counter() - start
        progress.advance(task, len(records))
    store.settle()
    settled_s = time.perf_counter() - began
    start = time.perf_counter()
    store.maintain()
    index_s = time.perf_counter() - start
    progress.remove_task(task)
    return {
        "ingest_rec_per_s": round(size / ingest_s, 1),
        "ingest_sustained_rec_per_s": round(size / settled_s, 1),
        "ingest_s": round(ingest_s, 2),
        "settled_s": round(settled_s, 2),
        "final_maintain_s": round(index_s, 2),
        "ann_index": [i.name for i in store.table.list_indices() if i.columns == ["vector"]],
    }


def recalls(
    store: LanceStore, scopes: dict[str, Scope], queries: np.ndarray, between: np.ndarray
) -> dict[str, float | None]:
    """recall@10 of each kind of query, and of unscoped ones between two topics."""
    result = {
        "recall_at_10_unscoped": recall_at_10(
            lambda q: unscoped(store, q, 10), store, None, queries
        ),
        "recall_at_10_unscoped_between_topics": recall_at_10(
            lambda q: unscoped(store, q, 10), store, None, between
        ),
    }
    for name, scope in scopes.items():
        result[f"recall_at_10_{name}"] = recall_at_10(
            lambda q, s=scope: [r.id for r, _ in store.vector_search(s, q, 10)],
            store,
            scope.where(),
            queries,
        )
    return result


def bench(size: int, args: argparse.Namespace, root: Path, progress: Progress) -> dict[str, object]:
    rng = np.random.default_rng(7)
    centres = unit(rng.standard_normal((max(10, size // PER_TOPIC), EMBEDDING_DIM)))
    options = StoreOptions(
        index_type=args.index, nprobes=args.nprobes, rerank_rows=args.rerank_rows
    )
    store = LanceStore(root, options)
    result: dict[str, object] = {"records": size} | fill(store, size, args, centres, progress)
    disk_mb = round(du(root) / 2**20, 1)
    purge(store.table, fragment_rows=store.options.fragment_rows)
    queries, cold = (
        unit(
            centres[rng.integers(0, len(centres), args.queries)]
            + 0.03 * rng.standard_normal((args.queries, EMBEDDING_DIM))
        )
        for _ in range(2)
    )
    # a query near one topic's centre finds its neighbours in the first partitions probed,
    # whatever the settings; one halfway between two topics tells them apart
    pairs = rng.integers(0, len(centres), (2, 50))
    between = unit(
        centres[pairs[0]] + centres[pairs[1]] + 0.03 * rng.standard_normal((50, EMBEDDING_DIM))
    )
    scopes = {
        "tenant": Scope(tenant="t3"),
        "tenant_speaker": Scope(tenant="t3", speakers=("spk7",)),
    }
    for name, measured in latencies(query_runs(store, scopes), queries).items():
        result[f"query_{name}"] = measured
    result |= recalls(store, scopes, queries[:20], between) | {
        "disk_mb": disk_mb,
        "disk_after_cleanup_mb": round(du(root) / 2**20, 1),
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    store.close()
    # as a restarted process would, the reopened store starts without this one's memory
    del store
    gc.collect()
    release_free_memory()
    result["cold"] = cold_queries(root, options, scopes, cold)
    result["peak_rss_after_cold_mb"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="store sizes to fill, comma-separated"
    )
    parser.add_argument("--batch", type=int, default=2000, help="records per commit")
    parser.add_argument(
        "--queries", type=int, default=1000, help="timed queries of each kind, at each size"
    )
    defaults = StoreOptions()
    parser.add_argument(
        "--index", default=defaults.index_type, choices=["ivf_sq", "ivf_rq"], help="ANN index type"
    )
    parser.add_argument(
        "--nprobes", type=int, default=defaults.nprobes, help="ANN partitions searched a query"
    )
    parser.add_argument(
        "--rerank-rows",
        type=int,
        default=defaults.rerank_rows,
        help="ANN candidates re-ranked on full vectors (ivf_rq needs about 400)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports/bench-memory.json"), help="JSON report"
    )
    args = parser.parse_args()
    results = []
    with Progress() as progress:
        for size in (int(s) for s in args.sizes.split(",")):
            root = Path(tempfile.mkdtemp(prefix=f"vigil-bench-memory-{size}-"))
            try:
                results.append(bench(size, args, root, progress))
            finally:
                shutil.rmtree(root, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": f"{psutil.cpu_count()} cores, shared",
        "index": args.index,
        "nprobes": args.nprobes,
        "rerank_rows": args.rerank_rows,
        "sizes": results,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
