"""Release bundles: one uncompressed tar holding a signed manifest, wheels and data.

Layout (``nongan-<version>.bundle.tar``)::

    manifest.json                  signed; lists every other member with its SHA-256 and size
    wheels/nongan-<version>-py3-none-any.whl
    wheels/<dependency>.whl        only in bundles with dependencies = "bundled"
    data/kits/*.toml               the kit catalogue and cut-offs
    data/firmware/...              the reader controller's firmware (main.py, app/, boards/)

Uncompressed because wheels are already compressed, and because a plain file resumes cleanly
over HTTP ranges. Written deterministically (sorted members, zero times and owners), so the
same inputs give the same bytes.

Reading never trusts the tar: the manifest's signature is checked first, then every member
must be a regular file listed in the manifest with the same size and SHA-256, and every listed
file must be there. Extraction writes only those files, under the target directory, and hashes
them again as it writes (the file on disk could have changed since it was checked).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import BundleRefused
from .manifest import MANIFEST_NAME, Manifest, ReleaseTrust, manifest_sha256

CHUNK = 1 << 20
MAX_MANIFEST_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(out: Path, manifest_raw: bytes, files: Mapping[str, Path]) -> None:
    """Write a bundle: ``manifest.json`` first, then ``files`` (bundle path -> source file)
    in sorted order, deterministically. Written to a temporary name and renamed."""
    tmp = out.with_name(out.name + ".tmp")
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, MANIFEST_NAME, io.BytesIO(manifest_raw), len(manifest_raw))
        for name in sorted(files):
            source = files[name]
            with source.open("rb") as handle:
                _add(tar, name, handle, source.stat().st_size)
    os.replace(tmp, out)


def _add(tar: tarfile.TarFile, name: str, handle: BinaryIO, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, handle)


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose manifest is signed by a trusted key and whose files match it."""

    path: Path
    manifest: Manifest
    manifest_raw: bytes

    @property
    def manifest_sha256(self) -> str:
        return manifest_sha256(self.manifest_raw)

    def extract(self, into: Path, *, kinds: set[str] | None = None) -> list[Path]:
        """Write the bundle's files (those of ``kinds``, default all) under ``into``.

        Raises:
            BundleRefused: a file no longer matches the manifest (the bundle changed on disk
                since it was verified); what was written is removed.
        """
        wanted = {f.path: f for f in self.manifest.files
                  if kinds is None or f.kind.value in kinds}
        written: list[Path] = []
        try:
            with _open_tar(self.path) as tar:
                for member in tar.getmembers():
                    entry = wanted.get(member.name)
                    if entry is None:
                        continue
                    target = into / entry.path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    digest = hashlib.sha256()
                    source = tar.extractfile(member)
                    if source is None:  # pragma: no cover - checked by verify
                        raise BundleRefused(f"{entry.path} is not a regular file")
                    with target.open("wb") as out:
                        written.append(target)
                        while chunk := source.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                    if digest.hexdigest() != entry.sha256:
                        raise BundleRefused(f"{entry.path} changed after the bundle was "
                                            "checked (its SHA-256 no longer matches)")
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        missing = set(wanted) - {str(p.relative_to(into)) for p in written}
        if missing:
            raise BundleRefused(f"the bundle lost files after it was checked: "
                                f"{', '.join(sorted(missing))}")
        return written


@contextmanager
def _open_tar(path: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed below, errors mapped first
    except (tarfile.TarError, OSError) as exc:
        raise BundleRefused(f"not a release bundle (an uncompressed tar): {exc}") from exc
    with tar:
        yield tar


def verify_bundle(path: Path, trust: ReleaseTrust, *,
                  expected_manifest_sha256: str | None = None) -> VerifiedBundle:
    """Check a bundle file: signature, then every member against the manifest.

    Args:
        path: the bundle.
        trust: the release keys this kiosk trusts.
        expected_manifest_sha256: the manifest a signed command named; another manifest is
            refused even if it is validly signed (an older release, say).

    Raises:
        BundleRefused: with the reason, for anything that does not match.
    """
    with _open_tar(path) as tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError) as exc:
            raise BundleRefused(f"the bundle is damaged: {exc}") from exc
        names = [m.name for m in members]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise BundleRefused(f"the bundle holds {duplicated[0]} twice")
        by_name = {m.name: m for m in members}
        if MANIFEST_NAME not in by_name:
            raise BundleRefused("the bundle has no manifest.json")
        for member in members:
            if not member.isreg():
                raise BundleRefused(f"{member.name} in the bundle is not a regular file "
                                    "(links and devices are refused)")
        manifest_member = by_name[MANIFEST_NAME]
        if manifest_member.size > MAX_MANIFEST_BYTES:
            raise BundleRefused("manifest.json is too large")
        raw = _read(tar, manifest_member)
        if expected_manifest_sha256 is not None and \
                manifest_sha256(raw) != expected_manifest_sha256.lower():
            raise BundleRefused(f"the bundle's manifest is not the one the command named "
                                f"(SHA-256 {manifest_sha256(raw)[:16]}…, expected "
                                f"{expected_manifest_sha256[:16]}…)")
        manifest = trust.verify(raw)
        listed = {f.path: f for f in manifest.files}
        extra = sorted(set(by_name) - set(listed) - {MANIFEST_NAME})
        if extra:
            raise BundleRefused(f"{extra[0]} is in the bundle but not in its signed manifest")
        missing = sorted(set(listed) - set(by_name))
        if missing:
            raise BundleRefused(f"{missing[0]} is listed in the manifest but missing from the "
                                "bundle")
        for name, entry in listed.items():
            member = by_name[name]
            if member.size != entry.size:
                raise BundleRefused(f"{name} has {member.size} bytes, the manifest says "
                                    f"{entry.size}: the bundle was changed")
            digest = _sha256_member(tar, member)
            if digest != entry.sha256:
                raise BundleRefused(f"{name} does not match its SHA-256 in the manifest: the "
                                    "bundle was changed after it was signed")
    return VerifiedBundle(path, manifest, raw)


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = tar.extractfile(member)
    if handle is None:  # pragma: no cover - regular files always have a handle
        raise BundleRefused(f"cannot read {member.name}")
    return handle.read()


def _sha256_member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = tar.extractfile(member)
    if handle is None:  # pragma: no cover
        raise BundleRefused(f"cannot read {member.name}")
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def copy_tree(source: Path, target: Path) -> None:
    """Copy a data folder from an extracted bundle into a release (no caches)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                    dirs_exist_ok=True)
