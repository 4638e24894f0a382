"""Where Vigil keeps what it prepares once: assembled models, sample media, the demo clip."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """``$VIGIL_CACHE_DIR``, else ``~/.cache/vigil``."""
    return Path(os.environ.get("VIGIL_CACHE_DIR") or Path.home() / ".cache" / "vigil")
