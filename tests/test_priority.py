"""Perception's CPU priority: every thread of the process is lowered, and threads started
later (model pools) inherit it. Run in a child process, so that the tests keep theirs."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import os, threading
    from runtime.priority import lower_priority

    def nice_of_this_thread(out):
        out.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    started, before, after = threading.Event(), [], []
    def waiting():
        started.wait()
        nice_of_this_thread(before)
    early = threading.Thread(target=waiting)
    early.start()
    lower_priority(10)
    started.set()
    early.join()
    late = threading.Thread(target=nice_of_this_thread, args=(after,))
    late.start()
    late.join()
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    lower_priority(5)  # never raises priority back
    print(main, before[0], after[0], os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="nice values per thread are Linux's")
def test_every_thread_is_lowered_and_new_ones_inherit() -> None:
    base = int(subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                              capture_output=True, text=True, check=True).stdout)  # fmt: skip
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True)
    main, early, late, again = map(int, out.stdout.split())
    expected = max(base, 10)
    assert (main, early, late, again) == (expected, expected, expected, expected)
