"""Freed memory goes back to the system when the store asks (glibc only)."""

from __future__ import annotations

import psutil
import pytest

from memory.heap import _glibc, release_free_memory


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
