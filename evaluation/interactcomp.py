"""InteractComp's question file, decrypted in memory only.

Each row's ``domain``, ``question``, ``answer`` and ``context`` are XOR-encrypted with a
keystream from the SHA-256 of its ``canary`` and Base64-encoded, to keep the questions out of
training data. They are decrypted here, when loaded, and never printed or written anywhere
but the report folder of a run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import ConfigError

__all__ = ["Item", "decrypt", "load_interactcomp"]

_ENCRYPTED = ("domain", "question", "answer", "context")


@dataclass(frozen=True, slots=True)
class Item:
    """One question: what is asked, what only the simulated user knows, the right answer."""

    id: str
    domain: str
    question: str
    context: str
    answer: str


def decrypt(cipher: str, canary: str) -> str:
    """The plain text of one encrypted field."""
    data = base64.b64decode(cipher)
    key = hashlib.sha256(canary.encode()).digest()
    stream = (key * (len(data) // len(key) + 1))[: len(data)]
    return bytes(a ^ b for a, b in zip(data, stream, strict=True)).decode("utf-8")


def load_interactcomp(path: Path, limit: int | None = None) -> list[Item]:
    """The first ``limit`` items of the file (all when None)."""
    if not path.is_file():
        raise ConfigError(f"no InteractComp file at {path}", hint="give InteractComp210.jsonl")
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            plain = {field: decrypt(row[field], row["canary"]) for field in _ENCRYPTED}
        except (ValueError, KeyError, TypeError, binascii.Error) as error:
            raise ConfigError(
                f"{path}:{number} is not an InteractComp row ({type(error).__name__})",
                hint="use the official InteractComp210.jsonl",
            ) from error
        items.append(Item(id=str(row.get("id", number)), **plain))
        if limit is not None and len(items) >= limit:
            break
    return items
