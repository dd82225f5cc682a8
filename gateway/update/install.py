"""Installing a verified bundle as a new release: a fresh virtual environment, offline.

1. ``python -m venv`` (with pip) in the release's staging folder;
2. the dependency set: a ``bundled`` bundle's own wheels (``pip install --no-index
   --find-links <bundle wheels>``: nothing is fetched from anywhere); a ``host`` bundle is
   layered over the dependency environment this kiosk names (``update.host_site_packages``,
   appended to the new environment's path by a ``.pth`` file, after its own packages) and
   only nongan's wheel is installed (``--no-deps``);
3. the bundle's data (firmware, kit catalogue) into ``data/``;
4. a smoke test: the new environment's Python imports nongan and reports the bundle's version.

pip runs ``--isolated`` (no user or machine configuration: no index, no find-links of the
machine's own) with a time limit. Any failure removes the staging folder: nothing changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .bundle import VerifiedBundle
from .errors import InstallError

HOST_PTH = "nongan-host-dependencies.pth"


@dataclass
class Installer:
    """Makes release environments.

    Attributes:
        python: the interpreter that creates the environments (default: this one's base).
        host_site_packages: the dependency environment a ``host`` bundle is layered over.
        timeout_s: per step.
    """

    python: str = sys.executable
    host_site_packages: Path | None = None
    timeout_s: float = 900.0

    def install(self, bundle: VerifiedBundle, into: Path) -> None:
        """Install ``bundle`` into the empty folder ``into``.

        Raises:
            InstallError: with the reason; the caller removes ``into``.
        """
        manifest = bundle.manifest
        if manifest.dependencies == "host" and self.host_site_packages is None:
            raise InstallError(
                "this bundle carries no dependency wheels and this kiosk names no dependency "
                "environment (update.host_site_packages): publish a bundle built with "
                "--wheelhouse")
        if self.host_site_packages is not None and manifest.dependencies == "host" and \
                not self.host_site_packages.is_dir():
            raise InstallError(f"the dependency environment {self.host_site_packages} does "
                               "not exist")
        unpacked = into / ".bundle"
        bundle.extract(unpacked)
        venv = into / ".venv"
        self._run([self.python, "-m", "venv", str(venv)], "creating the environment")
        python = venv / "bin" / "python"
        wheel = unpacked / manifest.wheel.path
        pip = [str(python), "-m", "pip", "--isolated", "--disable-pip-version-check",
               "install", "--no-index", "--no-cache-dir", "-q"]
        if manifest.dependencies == "host":
            assert self.host_site_packages is not None
            (Path(_purelib(python)) / HOST_PTH).write_text(
                f"{self.host_site_packages}\n", encoding="utf-8")
            self._run([*pip, "--no-deps", str(wheel)], "installing nongan's wheel")
        else:
            self._run([*pip, "--find-links", str(unpacked / "wheels"), str(wheel)],
                      "installing the wheels (a dependency missing from the bundle?)")
        data = unpacked / "data"
        if data.is_dir():
            shutil.copytree(data, into / "data")
        shutil.rmtree(unpacked)
        self.smoke_test(python, manifest.version)

    def smoke_test(self, python: Path, version: str) -> None:
        """The release's Python imports nongan and reports ``version`` (InstallError if not)."""
        # -I: neither the current directory nor PYTHON* variables may lend it other code.
        out = self._run([str(python), "-I", "-c", "import importlib.metadata as m, gateway, "
                         "nongan; print(m.version('nongan'))"], "starting the new release",
                        cwd=python.parents[2])
        found = out.strip().splitlines()[-1] if out.strip() else ""
        if found != version:
            raise InstallError(f"the installed release reports version {found!r}, the bundle "
                               f"says {version}")

    def _run(self, args: list[str], step: str, cwd: Path | None = None) -> str:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PIP_", "PYTHON")) and k != "VIRTUAL_ENV"}
        try:
            result = subprocess.run(args, capture_output=True, text=True,
                                    timeout=self.timeout_s, check=False, env=env, cwd=cwd)
        except subprocess.TimeoutExpired as exc:
            raise InstallError(f"{step} took longer than {self.timeout_s:.0f} s") from exc
        except OSError as exc:
            raise InstallError(f"{step} failed: {exc}") from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-4:]
            raise InstallError(f"{step} failed: {' / '.join(tail) or 'no output'}")
        return result.stdout


def _purelib(python: Path) -> str:
    result = subprocess.run([str(python), "-c",
                             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout.strip()


def host_site_packages_of(python: str = sys.executable) -> Path:
    """The site-packages of an environment (for a ``host`` installation over it)."""
    return Path(_purelib(Path(python)))
