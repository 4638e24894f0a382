"""Coverage-guided fuzzing of media decoding with atheris (libFuzzer for Python).

    python -m tests.fuzz_decoders -rss_limit_mb=0 -runs=2000 CORPUS_DIR [SEED_DIR ...]

Each input is written to a file and played by the file source to its end, as a user's file
would be. A clear refusal (MediaError) and warnings are fine; any other exception, a hang past
``_TIMEOUT`` seconds, or output perception could not use is a crash, which libFuzzer saves
(``crash-*``) and reports with a non-zero exit. ``tests/test_fuzz_media.py`` runs it bounded.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import resource
import sys
import tempfile
from pathlib import Path

import atheris
import numpy as np

with atheris.instrument_imports():
    from runtime.sources.file import FileSource
    from vigil.errors import MediaError
    from vigil.items import AudioChunk, VideoFrame

_TIMEOUT = 20.0
_MEMORY = 8 << 30  # bytes of address space
_FILE = Path(tempfile.gettempdir()) / f"vigil-fuzz-{os.getpid()}.bin"


async def _drain(path: Path) -> None:
    source = FileSource(path, stream_id="fuzz", paced=False)
    try:
        await source.open()
    except MediaError:
        return
    last = {"video": 0.0, "audio": 0.0}
    try:
        async with asyncio.timeout(_TIMEOUT):
            async for item in source:
                if isinstance(item, VideoFrame):
                    assert item.image.dtype == np.uint8 and item.image.shape[2] == 3
                    kind = "video"
                elif isinstance(item, AudioChunk):
                    assert np.isfinite(item.samples).all()
                    assert np.abs(item.samples).max(initial=0) <= 1.0
                    kind = "audio"
                else:
                    continue
                assert item.media_time >= last[kind], "media time went back"
                last[kind] = item.media_time
    finally:
        await source.close()


def one_input(data: bytes) -> None:
    _FILE.write_bytes(data)
    asyncio.run(_drain(_FILE))


def main() -> None:
    # Memory is bounded here, not by libFuzzer's -rss_limit_mb: that reads the peak RSS, which
    # Linux carries over exec, so a fuzzer started by a big process (a test suite) starts
    # "out of memory". A decoder that runs away now gets MemoryError or ENOMEM instead.
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))
    atexit.register(_FILE.unlink, missing_ok=True)  # libFuzzer ends the process with exit()
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
