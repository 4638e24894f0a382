"""The LanceDB store: scoped reads and deletes, tenant isolation, full text, ANN index, clamp."""

from __future__ import annotations

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import lancedb
import numpy as np
import pytest

from memory import indices, lancedb_store, layout
from memory.lancedb_store import LanceStore, StoreOptions
from memory.layout import cluster_new_rows, latest
from memory.retrieval import RetrievalConfig, rank
from memory.schema import EMBEDDING_DIM, SCHEMA, MemoryRecord, to_arrow
from memory.scope import Scope
from runtime.actors.memory import LongTermMemoryActor
from runtime.config import MemoryConfig, load_config
from vigil.errors import BackendError, ConfigError

RNG = np.random.default_rng(3)


def vec(seed: int | None = None) -> np.ndarray:
    rng = RNG if seed is None else np.random.default_rng(seed)
    v = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def rec(tenant: str = "a", **kw: object) -> MemoryRecord:
    fields: dict[str, object] = {
        "stream": "cam1",
        "session": "s1",
        "kind": "utterance",
        "text": "hello",
        "vector": vec(),
    }
    fields.update(kw)
    return MemoryRecord(tenant=tenant, **fields)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> LanceStore:
    return LanceStore(tmp_path / "mem")


def test_filters_by_stream_session_speaker_kind_and_time(store: LanceStore) -> None:
    store.add(
        [
            rec(stream="cam1", session="s1", speaker="alice", media_t1=1.0),
            rec(stream="cam2", session="s1", speaker="bob", media_t1=5.0),
            rec(stream="cam1", session="s2", speaker="alice", media_t1=9.0, kind="observation"),
        ]
    )
    assert store.count(Scope(tenant="a")) == 3
    assert store.count(Scope(tenant="a", streams=("cam2",))) == 1
    assert store.count(Scope(tenant="a", sessions=("s1",))) == 2
    assert store.count(Scope(tenant="a", speakers=("alice",))) == 2
    assert store.count(Scope(tenant="a", kinds=("observation",))) == 1
    assert store.count(Scope(tenant="a", since=2.0, until=6.0)) == 1
    assert store.count(Scope(tenant="a", exclude_sessions=("s1",))) == 1
    target = rec(speaker="carol", text="the kettle is on")
    store.add([target])
    found = store.vector_search(Scope(tenant="a", speakers=("carol",)), target.vector, 5)
    assert [r.id for r, _ in found] == [target.id]
    assert found[0][1] == pytest.approx(1.0, abs=1e-4)


def test_full_text_finds_rows_added_after_the_index(store: LanceStore) -> None:
    store.add([rec(text="Alice talked about her tomato garden")])
    store.maintain()  # builds the full-text index
    store.add([rec(text="Bob plays the saxophone on Sundays")])
    hits = store.text_search(Scope(tenant="a"), "saxophone", 5)
    assert [r.text for r, _ in hits] == ["Bob plays the saxophone on Sundays"]


def test_tenant_a_cannot_read_or_delete_tenant_b(store: LanceStore) -> None:
    secret = rec(tenant="b", text="tenant b secret plan", speaker="bob")
    store.add([secret, rec(tenant="a", text="tenant a note", speaker="bob")])
    a = Scope(tenant="a")
    assert all(r.tenant == "a" for r in store.rows(a))
    assert all(r.tenant == "a" for r, _ in store.vector_search(a, secret.vector, 10))
    assert store.text_search(a, "secret plan", 10) == []
    assert store.get("a", [secret.id]) == []
    assert store.delete(Scope(tenant="a", speakers=("bob",))) == 1
    assert store.get("b", [secret.id])[0].text == "tenant b secret plan"
    for evil in ("b' OR tenant = 'b", "a' OR '1'='1", "", "a;DROP"):
        with pytest.raises(ConfigError):
            store.rows(Scope(tenant=evil))
        with pytest.raises(ConfigError):
            store.delete(Scope(tenant="a", speakers=(evil,)))
        with pytest.raises(ConfigError):
            store.get("a", [evil])
    assert store.count(Scope(tenant="b")) == 1


def test_delete_removes_rows_files_and_old_versions(store: LanceStore, tmp_path: Path) -> None:
    media = store.media_dir("a", "s1")
    keyframe = media / "k1.jpg"
    keyframe.write_bytes(b"jpeg")
    outside = tmp_path / "not-ours.wav"
    outside.write_bytes(b"keep")
    marker = "zebra-marker-9271"
    store.add([rec(text=f"Dana said {marker}", speaker="dana", keyframe=str(keyframe))])
    store.add([rec(text="Eve stays", speaker="eve", audio=str(outside))])
    store.maintain()
    assert store.delete(Scope(tenant="a", speakers=("dana",))) == 1
    assert not keyframe.exists()
    assert [r.text for r in store.rows(Scope(tenant="a"))] == ["Eve stays"]
    on_disk = b"".join(p.read_bytes() for p in (tmp_path / "mem").rglob("*") if p.is_file())
    assert marker.encode() not in on_disk
    assert store.delete(Scope(tenant="a", speakers=("eve",))) == 1
    assert outside.exists()  # the store deletes only files under its own media folder


def test_ann_index_is_built_past_the_threshold(tmp_path: Path) -> None:
    options = StoreOptions(index_threshold=600, compact_every=10_000, exact_below=0)
    store = LanceStore(tmp_path / "mem", options)
    records = [rec(text=f"row {i}", speaker=f"p{i % 4}") for i in range(700)]
    store.add(records[:300])
    store.maintain()
    assert not store.has_vector_index()
    store.add(records[300:])
    store.maintain()
    assert store.has_vector_index()
    hits = store.vector_search(Scope(tenant="a", speakers=("p1",)), records[5].vector, 4)
    assert hits[0][0].id == records[5].id
    assert all(r.speaker == "p1" for r, _ in hits)


def test_ann_index_follows_rows_not_calls(tmp_path: Path) -> None:
    """Big batches never reached ``compact_every`` calls, and a reopened store started counting
    again, so a table could pass the threshold (or outgrow its index) without ever indexing."""
    options = StoreOptions(
        index_threshold=400,
        regrow_factor=2.0,
        compact_every=10_000,
        maintain_every_rows=10**9,
        exact_below=0,
    )
    store = LanceStore(tmp_path / "mem", options)
    records = [rec(text=f"row {i}", speaker=f"p{i % 4}") for i in range(900)]
    store.add(records[:300])
    store.settle()
    assert not store.has_vector_index()
    store.add(records[300:450])  # past the threshold: indexed after this write, no maintain call
    store.settle()
    assert store.has_vector_index()
    store.close()
    reopened = LanceStore(tmp_path / "mem", options)
    reopened.add(records[450:900])  # twice the 450 rows it was trained on: retrained
    reopened.settle()
    names = [i.name for i in reopened.table.list_indices() if i.columns == ["vector"]]
    assert names == ["vector_idx_900"]
    hits = reopened.vector_search(Scope(tenant="a", speakers=("p2",)), records[802].vector, 4)
    assert hits[0][0].id == records[802].id
    assert all(r.speaker == "p2" for r, _ in hits)


def test_narrow_scopes_are_searched_exactly(tmp_path: Path) -> None:
    """One speaker's rows are a sliver of the table: an ANN index probing one partition of 30
    would miss most of them, so the store scores every row in such a scope."""
    options = StoreOptions(index_threshold=900, nprobes=1, exact_below=50)
    store = LanceStore(tmp_path / "mem", options)
    rare = [rec(speaker="rare") for _ in range(12)]
    store.add([rec(speaker="common") for _ in range(900)] + rare)
    store.settle()
    assert store.has_vector_index()
    query = vec(5)
    hits = store.vector_search(Scope(tenant="a", speakers=("rare",)), query, 5)
    best = sorted(rare, key=lambda r: -float(np.dot(r.vector, query)))[:5]
    assert [r.id for r, _ in hits] == [r.id for r in best]
    assert [s for _, s in hits] == pytest.approx([float(np.dot(r.vector, query)) for r in best])


def row_addresses(store: LanceStore, where: str) -> list[int]:
    found = store.table.search().where(where).with_row_id(True).select(["id"]).limit(None)
    return sorted(found.to_arrow()["_rowid"].to_pylist())


def test_maintenance_lays_each_speakers_new_rows_side_by_side(tmp_path: Path) -> None:
    """Rows arrive interleaved, one commit at a time; a search scoped to one speaker then reads
    its vectors one by one from all over the table, unless maintenance sorted them."""
    store = LanceStore(tmp_path / "mem", StoreOptions(compact_every=10_000))
    added: list[MemoryRecord] = []
    for turn, commits in enumerate((4, 4, 1)):  # speakers taking turns within each commit
        for _ in range(commits):
            batch = [rec(speaker=f"p{i % 3}", session=f"s{turn}") for i in range(24 // commits)]
            store.add(batch)
            added += batch
        store.maintain()
        for speaker in ("p0", "p1", "p2"):
            new = row_addresses(store, f"speaker = '{speaker}' AND session = 's{turn}'")
            assert new == list(range(new[0], new[0] + 8))
    stored = {r.id: r for r in store.rows(Scope(tenant="a"))}
    assert {(r.id, r.speaker, r.session) for r in added} == {
        (r.id, r.speaker, r.session) for r in stored.values()
    }
    for record in added[::7]:  # each vector still belongs to its own row
        np.testing.assert_array_equal(stored[record.id].vector, record.vector)
    text_index = next(i for i in store.table.list_indices() if i.columns == ["text"])
    assert (text_index.num_indexed_rows, text_index.num_unindexed_rows) == (72, 0)


def test_sorting_in_groups_and_chunks_keeps_every_row_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are fetched a few at a time from several fragments and put back in sorted order;
    a slip there would pair one row's id with another row's text or vector."""
    monkeypatch.setattr(layout, "_CHUNK_ROWS", 5)
    store = LanceStore(tmp_path / "mem", StoreOptions(compact_every=10_000))
    added: list[MemoryRecord] = []
    for _ in range(6):
        batch = [rec(speaker=f"p{i % 3}", text=f"line {len(added) + i}") for i in range(7)]
        store.add(batch)
        added += batch
    cluster_new_rows(latest(store.table), group_rows=14)  # three groups of two commits
    store.table.checkout_latest()
    fragments = latest(store.table).get_fragments()
    assert len(fragments) == 3
    for fragment in fragments:
        speakers = fragment.to_table(columns=["speaker"])["speaker"].to_pylist()
        assert speakers == sorted(speakers)
    stored = {r.id: r for r in store.rows(Scope(tenant="a"))}
    assert set(stored) == {r.id for r in added}
    for record in added:
        assert stored[record.id].text == record.text
        np.testing.assert_array_equal(stored[record.id].vector, record.vector)


def test_indices_cover_only_rows_that_maintenance_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits while a pass sorts: an index built on the newest version would
    cover those rows unsorted for good (a quarter of the table at a million rows), so every
    index is built at the sorted version and the late rows wait for the next pass."""
    options = StoreOptions(index_threshold=40, compact_every=10_000, exact_below=0)
    store = LanceStore(tmp_path / "mem", options)
    late = [rec(speaker=f"p{i % 3}", session="late") for i in range(12)]

    def sort_then_another_writer_commits(dataset: object, **kwargs: object) -> object:
        sorted_version = cluster_new_rows(dataset, **kwargs)  # type: ignore[arg-type]
        if not store.count(Scope(tenant="a", sessions=("late",))):
            store.table.add(to_arrow(late))
        return sorted_version

    monkeypatch.setattr(lancedb_store, "cluster_new_rows", sort_then_another_writer_commits)
    store.add([rec(speaker=f"p{i % 3}") for i in range(48)])
    store.maintain()  # builds every index: text, bitmaps and ANN
    indices = latest(store.table).describe_indices()
    assert {i.name for i in indices} >= {"text_idx", "speaker_idx", "vector_idx_48"}
    assert all(i.num_rows_indexed == 48 for i in indices)
    late_fragments = {
        f.fragment_id
        for f in latest(store.table).get_fragments()
        if f.count_rows("session = 'late'")
    }
    assert len(late_fragments) == 1 and not any(
        late_fragments & set(segment.fragment_ids) for i in indices for segment in i.segments
    )
    hits = store.vector_search(Scope(tenant="a", sessions=("late",)), late[4].vector, 1)
    assert hits[0][0].id == late[4].id  # unindexed rows are still found
    store.maintain()  # the next pass sorts them, then indexes them
    for speaker in ("p0", "p1", "p2"):
        new = row_addresses(store, f"speaker = '{speaker}' AND session = 'late'")
        assert new == list(range(new[0], new[0] + 4))
    assert all(i.num_rows_indexed == 60 for i in latest(store.table).describe_indices())


def test_new_tables_use_file_format_2_1_and_older_tables_still_open(tmp_path: Path) -> None:
    """Format 2.2 decodes a whole page to read one value of a column whose values are all the
    same, which slowed every hit; stores made before keep their format and keep working."""
    assert latest(LanceStore(tmp_path / "new").table).data_storage_version == "2.1"
    old = tmp_path / "old"
    lancedb.connect(old / "db").create_table(
        lancedb_store.TABLE, schema=SCHEMA, data_storage_version="2.2"
    )
    store = LanceStore(old)
    target = rec(text="written to a 2.2 table")
    store.add([target, rec()])
    store.maintain()
    assert latest(store.table).data_storage_version == "2.2"
    assert store.vector_search(Scope(tenant="a"), target.vector, 1)[0][0].text == target.text
    assert [r.id for r, _ in store.text_search(Scope(tenant="a"), "written", 5)] == [target.id]


def test_a_table_written_before_the_record_column_gets_it_and_answers_the_same(
    tmp_path: Path,
) -> None:
    """Hits read every field from the JSON ``record`` column; a store from before it existed
    is given the column when opened, with its rows' fields, and nothing it held is lost."""
    old = tmp_path / "old"
    spoken = rec(
        speaker="alice",
        text="the red bicycle",
        media_t0=2.0,
        media_t1=3.5,
        wall_time=1.7e9,
        keyframe="media/a/s1/k.jpg",
        audio="media/a/s1/u.wav",
    )
    summary = rec(kind="session", text="what happened", links=("u1", "u2"))
    rows = to_arrow([spoken, summary]).drop_columns(["record"])
    lancedb.connect(old / "db").create_table(lancedb_store.TABLE, data=rows)
    store = LanceStore(old)
    assert "record" in latest(store.table).schema.names
    store.add([rec(text="written after the upgrade")])
    (hit, similarity), *_ = store.vector_search(Scope(tenant="a"), spoken.vector, 3)
    assert similarity == pytest.approx(1.0, abs=1e-3)
    assert hit == dataclasses.replace(spoken, vector=hit.vector)
    assert all(isinstance(t, float) for t in (hit.media_t0, hit.media_t1, hit.wall_time))
    found = store.text_search(Scope(tenant="a"), "happened", 5)
    assert [(r.id, r.kind, r.links) for r, _ in found] == [(summary.id, "session", ("u1", "u2"))]
    assert store.count(Scope(tenant="a")) == 3
    reopened = LanceStore(old)
    assert [r.text for r in reopened.rows(Scope(tenant="a"))][-1] == "written after the upgrade"


def test_an_empty_table_written_before_the_record_column_opens_and_takes_rows(
    tmp_path: Path,
) -> None:
    """The column's type cannot be learnt from a first batch of a table with no rows: opening
    such a store failed until the upgrade named the type itself."""
    old = tmp_path / "old"
    schema = SCHEMA.remove(SCHEMA.get_field_index("record"))
    lancedb.connect(old / "db").create_table(lancedb_store.TABLE, schema=schema)
    store = LanceStore(old)
    assert latest(store.table).schema.field("record") == SCHEMA.field("record")
    written = rec(text="first words")
    store.add([written])
    assert store.vector_search(Scope(tenant="a"), written.vector, 1)[0][0].text == "first words"


def test_a_hit_reads_back_the_values_its_columns_hold(store: LanceStore) -> None:
    """The JSON copy a hit reads is made from the values as the columns store them: an int
    media time or a numpy float comes back as the float that ``rows`` returns."""
    written = rec(media_t0=2, media_t1=np.float32(3.5), text="Zoë's café ☕")
    store.add([written])
    (hit, _), *_ = store.vector_search(Scope(tenant="a"), written.vector, 1)
    (row,) = store.rows(Scope(tenant="a"))
    assert (hit.media_t0, hit.media_t1, hit.text) == (row.media_t0, row.media_t1, row.text)
    assert type(hit.media_t0) is float and hit.media_t1 == 3.5 and hit.text == "Zoë's café ☕"


def test_a_hit_found_by_full_text_alone_is_ranked_on_its_stored_vector(
    store: LanceStore,
) -> None:
    """Ranking scores a text-only hit by its own vector against the query, so text hits must
    come with their vectors (a zero vector scored 0 and fell under the similarity floor)."""
    query = vec(1)
    near = query + 0.3 * vec(2)
    near /= np.linalg.norm(near)
    target = rec(text="the zebra crossing", vector=near)
    store.add([target, *(rec() for _ in range(5))])
    ((found, score),) = store.text_search(Scope(tenant="a"), "zebra", 5)
    assert np.allclose(found.vector, near)
    (hit,) = rank([], [(found, score)], query, RetrievalConfig(), now=found.wall_time)
    assert hit.similarity == pytest.approx(float(near @ query), abs=1e-5) and hit.similarity > 0.9


def test_compaction_leaves_full_fragments_alone(tmp_path: Path) -> None:
    """LanceDB's own compaction merged every fragment under a million rows, so each pass
    rewrote the whole table; fragments that reached ``fragment_rows`` now stay as they are."""
    store = LanceStore(tmp_path / "mem", StoreOptions(compact_every=10_000, fragment_rows=20))
    for _ in range(3):
        for _ in range(4):
            store.add([rec() for _ in range(6)])
        store.maintain()
    fragments = latest(store.table).get_fragments()
    full = {f.fragment_id for f in fragments if f.count_rows() >= 20}
    assert len(full) == 3
    store.add([rec() for _ in range(6)])
    store.add([rec() for _ in range(6)])
    store.maintain()
    after = {f.fragment_id for f in latest(store.table).get_fragments()}
    assert full <= after
    assert store.count(Scope(tenant="a")) == 84


def vector_segments(store: LanceStore) -> list[int]:
    """Partitions of each segment of the store's ANN index."""
    name = next(i.name for i in store.table.list_indices() if i.columns == ["vector"])
    return [
        part["num_partitions"] for part in latest(store.table).stats.index_stats(name)["indices"]
    ]


def test_new_rows_join_the_ann_index_without_losing_its_partitions(tmp_path: Path) -> None:
    """Lance rebalances IVF partitions as it merges new rows in, and joined all 316 partitions
    of an index trained on 100k rows into 4 (recall fell); the index now keeps its partitions
    and stays one segment, until the table has outgrown it and it is retrained."""
    options = StoreOptions(
        index_threshold=600,
        regrow_factor=1.5,
        compact_every=10_000,
        maintain_every_rows=10**9,
        exact_below=0,
    )
    store = LanceStore(tmp_path / "mem", options)
    records = [rec(speaker=f"p{i % 4}") for i in range(900)]
    store.add(records[:600])
    store.maintain()
    assert vector_segments(store) == [24]  # about sqrt(600)
    for end in (700, 800):
        store.add(records[end - 100 : end])
        store.maintain()
        assert vector_segments(store) == [24]
    hits = store.vector_search(Scope(tenant="a"), records[750].vector, 1)
    assert hits[0][0].id == records[750].id  # merged rows are found through the index
    store.add(records[800:])
    store.maintain()  # 900 rows: 1.5 times what it was trained on
    assert vector_segments(store) == [30]
    assert [i.name for i in store.table.list_indices() if i.columns == ["vector"]] == [
        "vector_idx_900"
    ]


def test_queries_find_a_new_ann_index_already_cached(tmp_path: Path) -> None:
    """Each update writes a new index, whose partitions the first queries after it loaded one
    by one (p99 29 ms instead of 13 at a million rows); maintenance now loads it for them."""
    options = StoreOptions(index_threshold=600, compact_every=10_000)
    store = LanceStore(tmp_path / "mem", options)
    store.add([rec() for _ in range(600)])
    store.maintain()
    codes = 600 * EMBEDDING_DIM  # one byte a dimension for each indexed row
    assert store.snapshot().session().index_cache_size_bytes() > codes
    store.close()
    reopened = LanceStore(tmp_path / "mem", options)
    assert reopened.snapshot().session().index_cache_size_bytes() > codes


def test_maintenance_runs_off_the_write_path_and_its_failure_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LanceStore(tmp_path / "mem", StoreOptions(compact_every=1))

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk hiccup")

    monkeypatch.setattr(lancedb_store, "compact", broken)
    with caplog.at_level(logging.ERROR, logger="memory.lancedb_store"):
        assert store.add([rec(text="kept despite the failed compaction")]) == 1
        store.settle()
    assert "memory maintenance failed" in caplog.text
    monkeypatch.undo()
    store.add([rec(text="second")])  # the next pass folds both commits into the indices
    store.settle()
    (text_index,) = (i for i in store.table.list_indices() if i.columns == ["text"])
    assert (text_index.num_indexed_rows, text_index.num_unindexed_rows) == (2, 0)
    assert store.count(Scope(tenant="a")) == 2
    store.close()
    with pytest.raises(BackendError):
        store.add([rec()])


def test_clamp_keeps_between_k_min_and_k_max_above_threshold() -> None:
    query = vec(1)
    config = RetrievalConfig(k_min=4, k_max=6, min_similarity=0.2, recency_weight=0.0)

    def near(sim: float) -> tuple[MemoryRecord, float]:
        return rec(text=f"{sim}"), sim

    many = [near(s) for s in (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25)]
    kept = rank(many, [], query, config, now=0.0)
    assert [h.similarity for h in kept] == [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    few = [near(s) for s in (0.5, 0.1, 0.05, 0.01, 0.0)]
    kept = rank(few, [], query, config, now=0.0)
    assert [h.similarity for h in kept] == [0.5, 0.1, 0.05, 0.01]  # filled up to k_min


def test_full_text_and_recency_reorder_equal_vectors() -> None:
    query = vec(2)
    config = RetrievalConfig(text_weight=0.3, recency_weight=0.1, recency_half_life_s=100.0)
    old, new, named = (rec(text=t, wall_time=w) for t, w in (("x", 0.0), ("y", 1000.0), ("z", 0.0)))
    hits = rank([(old, 0.5), (new, 0.5), (named, 0.5)], [(named, 7.0)], query, config, now=1000.0)
    assert [h.record.text for h in hits] == ["z", "y", "x"]
    assert hits[0].text_score == 1.0


def test_an_index_another_store_built_meanwhile_is_taken_as_built(tmp_path: Path) -> None:
    """Two stores on one folder (two processes) can reach the same missing index at once; the
    one that commits second used to fail its search with a commit conflict."""
    first, second = LanceStore(tmp_path / "mem"), LanceStore(tmp_path / "mem")
    first.add([rec(text="the spare key is under the mat")])
    seen_by_second = latest(second.table)  # before the first store builds anything
    first.maintain()  # builds the full-text index
    indices.create_bitmaps(latest(first.table), ["speaker"])
    indices.create_text_index(seen_by_second)
    indices.create_bitmaps(seen_by_second, ["speaker"])
    names = [i.name for i in latest(first.table).describe_indices()]
    assert sorted(names) == ["speaker_idx", "text_idx"]
    hits = second.text_search(Scope(tenant="a"), "key", 5)
    assert [r.text for r, _ in hits] == ["the spare key is under the mat"]


def test_concurrent_first_text_searches_build_the_index_once(store: LanceStore) -> None:
    """Two questions recalled at once used to race to create the full-text index."""
    store.add([rec(text=f"the locker code is {n}") for n in range(20)])
    scope = Scope(tenant="a")
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: store.text_search(scope, "locker", 5), range(4)))
    assert all(len(hits) == 5 for hits in found)
    assert sum(index.columns == ["text"] for index in store.table.list_indices()) == 1


def test_the_memory_section_sets_how_many_partitions_a_search_probes(tmp_path: Path) -> None:
    config = load_config(memory={"persistent": True, "path": str(tmp_path / "mem"), "nprobes": 7})
    actor = LongTermMemoryActor(config.memory, "cam1")
    try:
        assert actor.long.store.options.nprobes == 7
    finally:
        actor.long.store.close()
    assert MemoryConfig().nprobes == StoreOptions().nprobes, "README gives one default for both"
