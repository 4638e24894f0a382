"""Freed memory goes back to the system when the store asks (glibc only)."""

from __future__ import annotations

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from memory.heap import _glibc, configure_allocators, release_free_memory


@pytest.mark.skipif(_glibc() is None, reason="needs glibc's malloc_trim")
def test_release_free_memory_hands_back_pages_freed_in_the_middle_of_the_heap() -> None:
    """glibc keeps freed pages below a live allocation for later; Lance's buffers freed after
    a maintenance pass stayed in the process that way."""
    process = psutil.Process()
    blocks = [bytearray(4096) for _ in range(50_000)]  # 200 MB from malloc, not Python's pools
    for block in blocks:
        block[::512] = b"x" * 8  # touch every page
    keep = blocks[-1]
    del blocks
    held = process.memory_info().rss
    release_free_memory()
    assert held - process.memory_info().rss > 100 * 2**20
    assert keep[0] == ord("x")


@pytest.mark.skipif(_glibc() is None, reason="needs glibc's malloc_trim")
def test_arrow_buffers_freed_by_a_sort_go_back_to_the_system() -> None:
    """pyarrow's own pool (mimalloc) kept the buffers of maintenance's sorts resident; once
    the store has configured the allocators they come from malloc and are trimmed with it."""
    configure_allocators()
    assert pa.default_memory_pool().backend_name == "system"
    process = psutil.Process()
    values = pa.array(np.random.default_rng(0).random(2_000_000))
    chunks = [pc.take(values, pc.sort_indices(values)) for _ in range(12)]  # 190 MB
    keep = chunks[-1]
    del chunks
    held = process.memory_info().rss
    release_free_memory()
    assert held - process.memory_info().rss > 100 * 2**20
    assert keep[0].as_py() <= keep[1].as_py()
