"""Sample videos from Debian's ``opencv-doc`` package, fetched once and checked by sha256.

No video ships inside a Python package that installs offline here, but Debian's OpenCV
documentation carries OpenCV's sample clips, and the package registry is reachable. The clips
are taken out of the .deb with ``apt-get download`` and ``dpkg-deb`` (no root needed, nothing
installed), verified, and cached under ``$VIGIL_CACHE_DIR/media``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from vigil.cache import cache_dir
from vigil.errors import MediaError

__all__ = ["SAMPLE_VIDEOS", "sample_video"]

SAMPLE_VIDEOS: dict[str, str] = {
    # pedestrians on a campus, 768x576, 10 fps, 79.5 s
    "vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    # an animated film trailer with close-up faces, 23.976 fps
    "Megamind.avi": "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
}
_MEMBER = "usr/share/doc/opencv-doc/examples/data/{name}"


def sample_video(name: str, cache: Path | None = None) -> Path:
    """The path of the verified sample ``name`` (a key of :data:`SAMPLE_VIDEOS`)."""
    expected = SAMPLE_VIDEOS.get(name)
    if expected is None:
        raise MediaError(f"no sample video named {name!r}", hint=f"one of {sorted(SAMPLE_VIDEOS)}")
    target = (cache or cache_dir()) / "media" / name
    if target.exists() and _sha256(target) == expected:
        return target
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        raise MediaError(
            f"cannot fetch {name}: apt-get and dpkg-deb are needed",
            hint=f"copy {name} from OpenCV's samples/data to {target}",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        fetched = subprocess.run(
            ["apt-get", "download", "opencv-doc"], cwd=tmp, capture_output=True, text=True
        )
        debs = sorted(Path(tmp).glob("opencv-doc_*.deb"))
        if fetched.returncode != 0 or not debs:
            raise MediaError(
                f"`apt-get download opencv-doc` failed: {fetched.stderr.strip()[-300:]}",
                hint=f"run `apt-get update`, or copy {name} to {target}",
            )
        partial = Path(tmp) / name
        _extract_member(debs[0], _MEMBER.format(name=name), partial)
        digest = _sha256(partial)
        if digest != expected:
            raise MediaError(f"{name} has sha256 {digest}, expected {expected}")
        os.replace(partial, target)
    return target


def _extract_member(deb: Path, member: str, out: Path) -> None:
    """Copy one file out of a .deb without unpacking the rest (it is 95 MB of docs)."""
    command = ["dpkg-deb", "--fsys-tarfile", str(deb)]
    # stderr is silenced: dpkg-deb complains of a broken pipe when we stop reading early
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|*") as tar:
            for info in tar:
                if info.name.lstrip("./") == member and (data := tar.extractfile(info)):
                    out.write_bytes(data.read())
                    break
        p.stdout.close()
    if not out.exists():
        raise MediaError(f"{deb.name} holds no {member}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
