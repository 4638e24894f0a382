"""One error tree for the whole project.

    VigilError                  anything Vigil raises on purpose; ``hint`` tells the user what to do
    ├── ConfigError             a setting is invalid or points at nothing
    ├── ModelError              a model is missing, corrupt (sha256 mismatch) or will not load
    ├── SourceError             a source cannot be opened or read
    │   ├── DeviceNotFound      a camera or microphone is not there
    │   └── MediaError          a file or URL is missing, corrupt or in an unknown codec
    └── BackendError            a reaction backend failed; ``retryable`` says whether to try again

The CLI prints ``str(error)`` plus the hint on one line and exits with ``exit_code``.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "ConfigError",
    "DeviceNotFound",
    "MediaError",
    "ModelError",
    "SourceError",
    "VigilError",
]


class VigilError(Exception):
    """Base of all errors that Vigil raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class ConfigError(VigilError):
    exit_code = 2


class ModelError(VigilError):
    exit_code = 3


class SourceError(VigilError):
    exit_code = 4


class DeviceNotFound(SourceError):
    exit_code = 5


class MediaError(SourceError):
    exit_code = 6


class BackendError(VigilError):
    exit_code = 7

    def __init__(self, message: str, *, hint: str = "", retryable: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
