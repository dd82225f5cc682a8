"""The installed releases on a kiosk: A/B virtual environments behind two symlinks.

::

    /opt/nongan/releases/0.2.0/.venv      a complete virtual environment with nongan 0.2.0
    /opt/nongan/releases/0.2.0/data/      its firmware and kit catalogue, from the bundle
    /opt/nongan/releases/0.3.0/...
    /opt/nongan/current  -> releases/0.3.0   what systemd runs (current/.venv/bin/nongan)
    /opt/nongan/previous -> releases/0.2.0   the one to go back to

Each link is replaced atomically (a new symlink renamed over the old: a reader sees the old
target or the new one, never none), previous first, then current; a power cut between the two
leaves both on the old release, which is consistent. A release is installed in its final
folder (a virtual environment cannot be moved: its scripts name its interpreter by path) with
an ``.installing`` marker, removed only when it is complete, so a half-installed release is
never taken for one. A release may also be a symlink to an existing installation
(``adopt``: the git checkout a kiosk was first installed from); removing it removes the link,
never what it points to.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version

from ..errors import GatewayError

VERSION_NAME = re.compile(r"^[0-9][0-9A-Za-z.+!-]*$")
INSTALLING = ".installing"


class LayoutError(GatewayError):
    """The releases folder is not as expected; the message says what to fix. (Not an
    ``UpdateError``: the commands that meet one report it as they always have.)"""

    code = "release_layout"
    translation_key = "error.update"


class ReleaseLayout:
    """The releases under ``root`` (``update.root``, default /opt/nongan)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.releases = root / "releases"
        self.current_link = root / "current"
        self.previous_link = root / "previous"

    # ------------------------------------------------------------------ reading

    def release_dir(self, version: str) -> Path:
        if not VERSION_NAME.match(version):
            raise LayoutError(f"{version!r} cannot name a release folder")
        return self.releases / version

    def venv(self, version: str) -> Path:
        return self.release_dir(version) / ".venv"

    def nongan(self, version: str) -> Path:
        """The ``nongan`` command of a release."""
        return self.venv(version) / "bin" / "nongan"

    def _target(self, link: Path) -> str | None:
        if not link.is_symlink():
            return None
        name = Path(os.readlink(link)).name
        return name if (self.releases / name).exists() else None

    def current(self) -> str | None:
        """The version ``current`` points to (None: not an A/B installation yet)."""
        return self._target(self.current_link)

    def previous(self) -> str | None:
        return self._target(self.previous_link)

    def installed(self) -> list[str]:
        """Every complete release, oldest version first."""
        if not self.releases.is_dir():
            return []
        names = [p.name for p in self.releases.iterdir()
                 if not p.name.startswith(".") and (p / ".venv").exists()
                 and not (p / INSTALLING).exists()]
        return sorted(names, key=_sort_key)

    def data_dir(self, version: str) -> Path:
        return self.release_dir(version) / "data"

    # ------------------------------------------------------------------ changing

    def staging_dir(self, version: str) -> Path:
        """A fresh folder to install ``version`` into, marked as being installed (a leftover
        of an earlier attempt, or a staged copy of the same version, is removed first)."""
        if version in (self.current(), self.previous()):
            raise LayoutError(f"release {version} is in use (current or previous)")
        self.releases.mkdir(parents=True, exist_ok=True)
        self.remove(version)
        target = self.release_dir(version)
        target.mkdir()
        (target / INSTALLING).touch()
        return target

    def commit_staging(self, version: str) -> Path:
        """Mark the installation of ``version`` complete."""
        target = self.release_dir(version)
        (target / INSTALLING).unlink()
        _sync_dir(target)
        return target

    def incomplete(self) -> list[str]:
        """Releases whose installation never finished (left by a crash or a power cut)."""
        if not self.releases.is_dir():
            return []
        return sorted(p.name for p in self.releases.iterdir() if (p / INSTALLING).exists())

    def switch_to(self, version: str, previous: str | None) -> None:
        """Point ``previous`` at ``previous`` (None: remove it) and ``current`` at ``version``.

        Raises:
            LayoutError: the release is not installed.
        """
        if version not in self.installed():  # absent, or its installation never finished
            raise LayoutError(f"release {version} is not installed under {self.releases}")
        if previous is None:
            self.previous_link.unlink(missing_ok=True)
        else:
            _point(self.previous_link, Path("releases") / previous)
        _point(self.current_link, Path("releases") / version)
        _sync_dir(self.root)

    def adopt(self, version: str, installation: Path) -> None:
        """Make an existing installation (a folder with ``.venv``) release ``version`` and
        point ``current`` at it: how a kiosk installed from a git checkout moves to A/B."""
        if not (installation / ".venv" / "bin" / "python").exists():
            raise LayoutError(f"{installation} has no .venv to adopt")
        if self.current() is not None:
            raise LayoutError(f"{self.current_link} already points to {self.current()}")
        self.releases.mkdir(parents=True, exist_ok=True)
        target = self.release_dir(version)
        if target.exists() or target.is_symlink():
            raise LayoutError(f"{target} exists")
        target.symlink_to(installation.resolve(), target_is_directory=True)
        _point(self.current_link, Path("releases") / version)
        _sync_dir(self.root)

    def remove(self, version: str) -> None:
        """Delete a release (never the current or previous one)."""
        if version in (self.current(), self.previous()):
            raise LayoutError(f"release {version} is in use (current or previous)")
        path = self.release_dir(version)
        if path.is_symlink():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)

    def prune(self, keep: set[str] | None = None) -> list[str]:
        """Delete every release but current, previous and ``keep``; returns what went."""
        protected = {self.current(), self.previous(), *(keep or set())}
        gone = []
        for name in self.installed():
            if name not in protected:
                self.remove(name)
                gone.append(name)
        for name in self.incomplete():
            if name not in protected:
                shutil.rmtree(self.release_dir(name), ignore_errors=True)
        return gone


def running_release(layout: ReleaseLayout) -> str | None:
    """The release this very interpreter belongs to, if it runs from ``layout``."""
    prefix = Path(sys.prefix).resolve()
    for name in layout.installed():
        if (layout.venv(name)).resolve() == prefix:
            return name
    return None


def _point(link: Path, target: Path) -> None:
    tmp = link.with_name(f".{link.name}.new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)


def _sync_dir(path: Path) -> None:
    """Make the renames in ``path`` durable (a power cut must not undo a switch)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sort_key(name: str) -> tuple[int, Version | str]:
    try:
        return (0, Version(name))
    except InvalidVersion:
        return (1, name)
