"""Helpers for update tests: releases built from this checkout, signed bundles, a fake systemd
whose units run what the repository's unit files say."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.update.release import BuiltBundle, build_bundle, build_wheel, copy_source

REPO = Path(__file__).resolve().parents[3]
FIRMWARE_DIR = REPO / "hardware" / "firmware"
KITS_DIR = REPO / "gateway" / "kits" / "data"
UNITS_DIR = REPO / "hardware" / "deploy" / "systemd"
FAKE_SYSTEMCTL = Path(__file__).with_name("fake_systemctl.py")
VERSION_LINE = '__version__ = "0.1.0"'


def source_copy(into: Path, version: str, patches: dict[str, tuple[str, str]] | None = None
                ) -> Path:
    """A copy of this checkout declaring ``version``, with text ``patches`` applied
    (relative path -> (old, new); each must be found)."""
    copy_source(REPO, into, assets=False)
    init = into / "nongan" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert VERSION_LINE in text, "nongan/__init__.py's version line changed: update the tests"
    init.write_text(text.replace(VERSION_LINE, f'__version__ = "{version}"'), encoding="utf-8")
    for name, (old, new) in (patches or {}).items():
        path = into / name
        body = path.read_text(encoding="utf-8")
        assert old in body, f"{name} no longer contains {old!r}: update the test's patch"
        path.write_text(body.replace(old, new, 1), encoding="utf-8")
    return into


class WheelFactory:
    """Builds (once each) nongan wheels of given versions from patched copies of the checkout."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._built: dict[str, Path] = {}

    def wheel(self, version: str, patches: dict[str, tuple[str, str]] | None = None,
              name: str | None = None) -> Path:
        key = name or version
        if key not in self._built:
            src = source_copy(self.folder / f"src-{key}", version, patches)
            self._built[key] = build_wheel(src, self.folder / f"wheels-{key}", assets=False)
        return self._built[key]


def make_bundle(wheel: Path, key: Ed25519PrivateKey, out: Path, **options: Any) -> BuiltBundle:
    """A signed bundle with the checkout's kit catalogue and firmware (unless overridden)."""
    options.setdefault("kits_dir", KITS_DIR)
    options.setdefault("firmware_dir", FIRMWARE_DIR)
    return build_bundle(wheel=wheel, key=key, out_dir=out, **options)


class FakeSystemd:
    """``update.systemctl`` for tests: records calls and unit states (fake_systemctl.py), and
    runs a unit's ExecStart from the repository's unit file with the kiosk's paths put in."""

    def __init__(self, folder: Path, paths: dict[str, str]) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = paths
        self.command = [sys.executable, str(FAKE_SYSTEMCTL), str(folder)]

    def calls(self) -> list[dict[str, Any]]:
        log = self.folder / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def started(self, unit: str) -> int:
        """How many times ``unit`` was asked to start (start or restart)."""
        return sum(1 for c in self.calls() if c["unit"] == unit
                   and c["verb"] in ("start", "restart"))

    def set_state(self, **state: Any) -> None:
        path = self.folder / "state.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update(state)
        path.write_text(json.dumps(current))

    def _subst(self, text: str) -> str:
        for real, here in self.paths.items():
            text = text.replace(real, here)
        return text

    def unit(self, name: str) -> tuple[list[str], Path | None, dict[str, str]]:
        """A unit's command line, ConditionPathExists and Environment, with the paths put in."""
        argv: list[str] = []
        condition: Path | None = None
        env: dict[str, str] = {}
        for raw in (UNITS_DIR / name).read_text().splitlines():
            line = raw.strip()
            if line.startswith("ExecStart="):
                argv = shlex.split(self._subst(line.removeprefix("ExecStart=")))
            elif line.startswith("ConditionPathExists="):
                condition = Path(self._subst(line.removeprefix("ConditionPathExists=")))
            elif line.startswith("Environment="):
                key, _, value = line.removeprefix("Environment=").partition("=")
                env[key] = self._subst(value)
        assert argv, f"{name} has no ExecStart"
        return argv, condition, env

    def run_unit(self, name: str, timeout_s: float = 300.0
                 ) -> subprocess.CompletedProcess[str] | None:
        """Run a oneshot unit as systemd would (None: its condition was not met)."""
        import os

        argv, condition, env = self.unit(name)
        if condition is not None and not condition.exists():
            return None
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, **env}, check=False)
