"""Structured logs: one JSON object per line, for the service's log collectors.

Uvicorn's access log is off: it prints query strings, and WebSocket clients carry their token
in one. The service logs each HTTP request itself, by path only, and every line goes through
:class:`JsonFormatter`, which blanks any ``token=`` value (uvicorn's own log of a WebSocket
being accepted or closed prints the path with its query).
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

__all__ = ["JsonFormatter", "json_logging", "redact"]

_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)\S+", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with bearer tokens and ``token=`` values blanked."""
    return _BEARER.sub(r"\1***", _TOKEN.sub(r"\1***", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key in ("method", "path", "status", "seconds"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


def json_logging(level: int = logging.INFO) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and Vigil, all in JSON."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": logging.WARNING},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["default"], "level": level, "propagate": False},
            "vigil": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
