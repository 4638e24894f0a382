"""The service's record of its sessions on disk, so that a restarted ``vigil serve`` lists them.

What was seen and said is kept by the memory store (``memory.persistent``); the service's own
record of each session, its tenant, when it began, whether it ended, its standing
instructions, its answers and summaries, is kept beside the store in a SQLite file. Each change
is written when it happens (one small transaction), so a service killed mid-session loses
none of it. A session it was killed in comes back open and without streams: attach one, and it
goes on with its instructions and with the memory of what came before.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.errors import ConfigError

__all__ = ["Ledger", "SavedSession"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, created REAL NOT NULL,
    ended INTEGER NOT NULL DEFAULT 0, summaries TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS instructions (
    session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS answers (
    session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE, answer TEXT NOT NULL
);
"""


@dataclass(slots=True)
class SavedSession:
    """A session as the ledger holds it."""

    id: str
    tenant: str
    created: float
    ended: bool
    summaries: list[str] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)


class Ledger:
    """Sessions, instructions and answers in one SQLite file (written from the event loop
    and from worker threads alike, hence the lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._closed = False
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as error:  # not a database, or a damaged one: left as is
            self._db.close()
            raise ConfigError(
                f"the session ledger {path} cannot be read ({error})",
                hint="move the file away to start without the earlier sessions' list; the "
                "memory store beside it is not affected",
            ) from error

    def _write(self, sql: str, *args: object) -> None:
        with self._lock:
            if self._closed:  # a stream's last events, delivered while the service stops
                log.warning("the session ledger is closed; not recorded: %s", sql.split()[0])
                return
            self._db.execute(sql, args)

    def created(self, session_id: str, tenant: str, created: float) -> None:
        self._write("INSERT INTO sessions (id, tenant, created) VALUES (?, ?, ?)", session_id,
                    tenant, created)  # fmt: skip

    def ended(self, session_id: str, summaries: list[str]) -> None:
        self._write("UPDATE sessions SET ended = 1, summaries = ? WHERE id = ?",
                    json.dumps(summaries), session_id)  # fmt: skip

    def instruction(self, session_id: str, text: str) -> None:
        self._write("INSERT INTO instructions VALUES (?, ?)", session_id, text)

    def answer(self, session_id: str, answer: dict[str, Any]) -> None:
        self._write("INSERT INTO answers VALUES (?, ?)", session_id, json.dumps(answer))

    def forget(self, session_id: str) -> None:
        """The session, its instructions and its answers, gone."""
        self._write("DELETE FROM sessions WHERE id = ?", session_id)

    def load(self) -> list[SavedSession]:
        """Every session, oldest first, with its instructions and answers in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, tenant, created, ended, summaries FROM sessions ORDER BY created"
            ).fetchall()
            saved = {
                id_: SavedSession(id_, tenant, created, bool(ended), json.loads(summaries))
                for id_, tenant, created, ended, summaries in rows
            }
            for id_, text in self._db.execute(
                "SELECT session, text FROM instructions ORDER BY rowid"
            ):
                saved[id_].instructions.append(text)
            answers = self._db.execute("SELECT session, answer FROM answers ORDER BY rowid")
            for id_, answer in answers:
                saved[id_].answers.append(json.loads(answer))
        return list(saved.values())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._db.close()
