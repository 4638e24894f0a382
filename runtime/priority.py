"""CPU priority of a stage's process, for machines with fewer cores than streams.

When the cores are short, something must wait. Perception has a policy for that (a live
stream drops its oldest frames to stay at the live edge); an answer does not: a question
asked while eight streams are analysed on two cores waited minutes for the language model's
turn on the CPU. Niced perception leaves the cores to the model and the control path first.

On Linux a nice value belongs to each thread, and a new thread inherits its creator's, so
every thread the process has is lowered: those started later (decoders, ONNX and CTranslate2
pools) inherit it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

__all__ = ["lower_priority"]

log = logging.getLogger(__name__)


def lower_priority(nice: int) -> None:
    """Raise the nice value of every thread of this process to at least ``nice`` (0: as is)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    tasks = Path("/proc/self/task")
    threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    for thread in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, max(current, nice))
    log.info("process %d runs at nice %d or above", os.getpid(), nice)
