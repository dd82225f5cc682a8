"""Making a release bundle on the release machine (``nongan release build``).

1. nongan's wheel is built from a clean copy of the checkout (the files git tracks, plus the
   screen's generated font subset and prompts if they were built), offline, with the
   interpreter's own build backend (``pip wheel --no-deps --no-build-isolation --no-index``);
   or an already built wheel is taken as it is.
2. The kit catalogue folder is loaded and validated (a catalogue the kiosk would refuse is
   never released), and copied with its versions into the manifest.
3. The reader firmware (main.py, app/, boards/; never the simulator) is added with its
   version and protocol read from app/version.py.
4. Dependency wheels are added only when a wheelhouse is given (``dependencies = "bundled"``:
   the kiosk installs offline from the bundle alone). Make it on a machine that can reach the
   index, for the kiosk's platform, e.g. ``pip download --only-binary=:all: --platform
   manylinux2014_aarch64 --python-version 3.11 -d wheelhouse nongan-X.whl``. Without one,
   the bundle carries nongan's wheel only (``dependencies = "host"``).
5. The manifest is signed with the release key and the bundle written; its SHA-256 and the
   manifest's are printed: publish the bundle at an HTTPS URL, and give the cloud both.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import Parser
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..kits import KitCatalogueError, load_catalogue
from ..kits.catalogue import DEFAULT_PATH as DEFAULT_KITS_DIR
from .bundle import sha256_file, write_bundle
from .errors import UpdateError
from .manifest import (
    BundleFile,
    FileKind,
    FirmwareInfo,
    KitsInfo,
    Manifest,
    key_id,
    manifest_sha256,
    sign_manifest,
)

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mpy", ".venv", "build", "dist",
                                 "*.egg-info", ".git", ".pytest_cache", ".mypy_cache",
                                 ".ruff_cache", ".hypothesis", ".nongan-demo")
# Built at install time, not tracked by git, but part of what the kiosk's screen serves.
GENERATED_ASSETS = Path("kiosk_ui/static/generated")


class ReleaseError(UpdateError):
    """The release cannot be built; the message says what to fix."""

    code = "release"


@dataclass(frozen=True)
class BuiltBundle:
    path: Path
    manifest: Manifest
    manifest_sha256: str
    bundle_sha256: str
    size: int


def copy_source(source: Path, into: Path, *, assets: bool = True) -> None:
    """A clean copy of the checkout: the files git tracks (everything but caches and
    virtual environments when it is not a git checkout), plus the generated screen assets."""
    tracked: list[str] | None = None
    if (source / ".git").exists():
        result = subprocess.run(["git", "-C", str(source), "ls-files", "-z", "--cached",
                                 "--others", "--exclude-standard"],
                                capture_output=True, timeout=60, check=False)
        if result.returncode == 0:
            tracked = [n for n in result.stdout.decode().split("\0") if n]
    if tracked is None:
        shutil.copytree(source, into, ignore=IGNORED, dirs_exist_ok=True)
    else:
        for name in tracked:
            src = source / name
            if not src.is_file():
                continue  # deleted in the work tree and not yet committed
            dst = into / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    generated = source / GENERATED_ASSETS
    if assets and generated.is_dir():
        shutil.copytree(generated, into / GENERATED_ASSETS, dirs_exist_ok=True)
    elif not assets:
        shutil.rmtree(into / GENERATED_ASSETS, ignore_errors=True)


def build_wheel(source: Path, out_dir: Path, *, assets: bool = True,
                python: str = sys.executable, timeout_s: float = 600) -> Path:
    """Build nongan's wheel from ``source`` (a checkout) into ``out_dir``; offline."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not (source / "pyproject.toml").is_file():
        raise ReleaseError(f"{source} is not a nongan checkout (no pyproject.toml)")
    with tempfile.TemporaryDirectory(prefix="nongan-release-src-") as tmp:
        clean = Path(tmp) / "src"
        clean.mkdir()
        copy_source(source, clean, assets=assets)
        with tempfile.TemporaryDirectory(prefix="nongan-release-whl-") as wheels:
            result = subprocess.run(
                [python, "-m", "pip", "--isolated", "--disable-pip-version-check", "wheel",
                 "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", wheels,
                 str(clean)],
                capture_output=True, text=True, timeout=timeout_s, check=False)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
                raise ReleaseError("building the wheel failed: " + " / ".join(tail) +
                                   " (the release machine needs the 'release' extra: "
                                   "setuptools and wheel)")
            built = sorted(Path(wheels).glob("nongan-*.whl"))
            if len(built) != 1:
                raise ReleaseError(f"expected one nongan wheel, pip made {len(built)}")
            target = out_dir / built[0].name
            shutil.copy2(built[0], target)
    return target


def wheel_version(path: Path) -> str:
    """The version in a nongan wheel's file name."""
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise ReleaseError(f"{path.name} is not a wheel file name: {exc}") from exc
    if name != "nongan":
        raise ReleaseError(f"{path.name} is not nongan's wheel")
    return str(version)


def wheel_requires_python(path: Path) -> str:
    with zipfile.ZipFile(path) as wheel:
        meta = next((n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")), None)
        if meta is None:
            raise ReleaseError(f"{path.name} has no METADATA")
        headers = Parser().parsestr(wheel.read(meta).decode("utf-8"), headersonly=True)
    return headers.get("Requires-Python") or ">=3.11"


def firmware_constant(firmware_dir: Path, name: str) -> str | int:
    """A constant of app/version.py (VERSION, PROTOCOL), read without running it."""
    path = firmware_dir / "app" / "version.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError) as exc:
        raise ReleaseError(f"no firmware version at {path}: {exc}") from exc
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == name
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str | int)):
            return node.value.value
    raise ReleaseError(f"{path} has no {name}")


def firmware_files(firmware_dir: Path) -> dict[str, Path]:
    """What goes on the board: main.py, app/ and boards/ (never sim/, never caches)."""
    files = {"data/firmware/main.py": firmware_dir / "main.py"}
    for folder in ("app", "boards"):
        for path in sorted((firmware_dir / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            files[f"data/firmware/{path.relative_to(firmware_dir).as_posix()}"] = path
    for name, path in files.items():
        if not path.is_file():
            raise ReleaseError(f"the firmware lacks {name.removeprefix('data/firmware/')}")
    return files


def firmware_info(firmware_dir: Path) -> FirmwareInfo:
    boards = sorted(p.stem for p in (firmware_dir / "boards").glob("rev_*.py"))
    return FirmwareInfo(version=str(firmware_constant(firmware_dir, "VERSION")),
                        protocol=int(firmware_constant(firmware_dir, "PROTOCOL")),
                        boards=boards)


def kits_files(kits_dir: Path) -> tuple[dict[str, Path], KitsInfo]:
    try:
        catalogue = load_catalogue(kits_dir)
    except KitCatalogueError as exc:
        raise ReleaseError(f"the kit catalogue would be refused by a kiosk: {exc}") from exc
    files = {f"data/kits/{p.name}": p for p in sorted(kits_dir.glob("*.toml"))}
    return files, KitsInfo(catalogue_version=catalogue.version,
                           limits_version=catalogue.limits_version)


def build_bundle(*, wheel: Path, key: Ed25519PrivateKey, out_dir: Path,
                 kits_dir: Path | None = DEFAULT_KITS_DIR, firmware_dir: Path | None = None,
                 wheelhouse: Path | None = None, min_compatible: str = "0",
                 max_compatible: str | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> BuiltBundle:
    """Sign and write ``nongan-<version>.bundle.tar`` into ``out_dir``.

    Args:
        wheel: nongan's wheel.
        key: the release signing key.
        out_dir: where the bundle goes.
        kits_dir: the kit catalogue folder to ship (None: none).
        firmware_dir: the reader firmware to ship (None: none).
        wheelhouse: dependency wheels to ship (None: a "host" bundle).
        min_compatible, max_compatible: the installed versions it may replace (max default:
            any version below this one).
    """
    version = wheel_version(wheel)
    files: dict[str, Path] = {f"wheels/{wheel.name}": wheel}
    kinds = {f"wheels/{wheel.name}": FileKind.WHEEL}
    if wheelhouse is not None:
        deps = sorted(p for p in wheelhouse.glob("*.whl") if not p.name.startswith("nongan-"))
        if not deps:
            raise ReleaseError(f"no dependency wheels in {wheelhouse}")
        for dep in deps:
            files[f"wheels/{dep.name}"] = dep
            kinds[f"wheels/{dep.name}"] = FileKind.DEPENDENCY
    kits = None
    if kits_dir is not None:
        kit_files, kits = kits_files(kits_dir)
        files.update(kit_files)
        kinds.update(dict.fromkeys(kit_files, FileKind.KITS))
    firmware = None
    if firmware_dir is not None:
        fw_files = firmware_files(firmware_dir)
        firmware = firmware_info(firmware_dir)
        files.update(fw_files)
        kinds.update(dict.fromkeys(fw_files, FileKind.FIRMWARE))
    entries = [BundleFile(path=name, sha256=sha256_file(path), size=path.stat().st_size,
                          kind=kinds[name]) for name, path in sorted(files.items())]
    manifest = Manifest(
        version=version, created_at=now().replace(microsecond=0),
        min_compatible=min_compatible, max_compatible=max_compatible or version,
        requires_python=wheel_requires_python(wheel),
        dependencies="bundled" if wheelhouse is not None else "host",
        files=entries, firmware=firmware, kits=kits, key_id=key_id(key))
    raw = sign_manifest(manifest, key)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"nongan-{version}.bundle.tar"
    write_bundle(out, raw, files)
    return BuiltBundle(out, manifest, manifest_sha256(raw), sha256_file(out), out.stat().st_size)
