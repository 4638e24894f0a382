"""The resume log: one JSON line per evaluated query, appended and flushed as soon as known.

An interrupted run loses at most the video (or query) in flight; a rerun skips every query
already logged without an error, and retries the ones that failed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["ResultLog"]


class ResultLog:
    """Answers by query key, backed by an append-only JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answers: dict[str, dict[str, Any]] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:  # a line cut short by the interruption itself
                    continue
                self.answers[record["key"]] = record

    def done(self, key: str) -> bool:
        record = self.answers.get(key)
        return record is not None and not record.get("error")

    def append(self, records: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")
                self.answers[record["key"]] = record
            handle.flush()
            os.fsync(handle.fileno())
