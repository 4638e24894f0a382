"""What the store acknowledged survives kill -9; concurrent writers lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np

from memory.lancedb_store import LanceStore
from memory.schema import EMBEDDING_DIM, MemoryRecord
from memory.scope import Scope

ROOT = Path(__file__).resolve().parents[1]

# Writes one record per commit forever, printing its id once ``add`` has returned.
WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from memory.lancedb_store import LanceStore
    from memory.schema import MemoryRecord
    store = LanceStore(sys.argv[1])
    stream, count = sys.argv[2], int(sys.argv[3])
    rng = np.random.default_rng(abs(hash(stream)) % 2**32)
    i = 0
    while count < 0 or i < count:
        record = MemoryRecord(tenant="t", stream=stream, session="s", kind="utterance",
                              text=f"{stream} {i}", vector=rng.standard_normal(384).astype("f4"))
        store.add([record])
        print("ack", record.id, flush=True)
        i += 1
    """
)


def writer(root: Path, stream: str, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", WRITER, str(root), stream, str(count)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    process = writer(root, "cam1", -1)
    assert process.stdout is not None
    acked = []
    for line in process.stdout:
        acked.append(line.split()[1])
        if len(acked) == 25:
            break
    os.kill(process.pid, signal.SIGKILL)  # mid-stream: it is writing the next record now
    process.wait()
    acked += [line.split()[1] for line in process.stdout if line.startswith("ack")]
    store = LanceStore(root)
    kept = {r.id for r in store.rows(Scope(tenant="t"))}
    assert set(acked) <= kept
    store.add(
        [
            MemoryRecord(
                tenant="t",
                stream="cam1",
                session="s",
                kind="answer",
                text="ok",
                vector=np.ones(EMBEDDING_DIM, dtype=np.float32),
            )
        ]
    )
    store.maintain()  # the reopened table is writable and compacts after the crash
    assert store.count(Scope(tenant="t")) == len(kept) + 1


def test_concurrent_writers_from_threads_and_processes(tmp_path: Path) -> None:
    root = tmp_path / "mem"
    store = LanceStore(root)
    processes = [writer(root, f"proc{i}", 10) for i in range(2)]
    rng = np.random.default_rng(0)
    written: list[str] = []

    def stream(name: str) -> None:
        for i in range(15):
            vector = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
            record = MemoryRecord(
                tenant="t",
                stream=name,
                session="s",
                kind="utterance",
                text=f"{name} {i}",
                vector=vector,
            )
            store.add([record])
            written.append(record.id)

    threads = [threading.Thread(target=stream, args=(f"cam{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        written += [line.split()[1] for line in out.splitlines()]
    ids = [r.id for r in LanceStore(root).rows(Scope(tenant="t"))]
    assert len(written) == 4 * 15 + 2 * 10
    assert sorted(ids) == sorted(written)
