"""Starting and stopping the kiosk's systemd units (``systemctl``, through a seam).

The command prefix is a setting (``update.systemctl``, default ``["systemctl"]``): the kiosk
user may manage only the nongan units (``hardware/deploy/polkit/``); tests put a fake in its
place that records what was asked.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .errors import UpdateError


class ServiceError(UpdateError):
    """systemctl failed; the reason carries its words."""


@dataclass(frozen=True)
class UnitStatus:
    active_state: str  # active, activating, failed, inactive, ...
    n_restarts: int

    @property
    def active(self) -> bool:
        return self.active_state == "active"


class ServiceControl:
    """Units by name: ``start``, ``stop``, ``restart``, ``status``."""

    def __init__(self, systemctl: list[str] | None = None, *, timeout_s: float = 120.0) -> None:
        self.systemctl = systemctl or ["systemctl"]
        self.timeout_s = timeout_s

    def _run(self, *args: str) -> str:
        try:
            result = subprocess.run([*self.systemctl, *args], capture_output=True, text=True,
                                    timeout=self.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(f"systemctl {' '.join(args)}: {exc}") from exc
        if result.returncode != 0:
            words = (result.stderr or result.stdout).strip() or f"exit {result.returncode}"
            raise ServiceError(f"systemctl {' '.join(args)} failed: {words}")
        return result.stdout

    def start(self, unit: str, *, no_block: bool = False) -> None:
        self._run("start", *(["--no-block"] if no_block else []), unit)

    def stop(self, unit: str) -> None:
        self._run("stop", unit)

    def restart(self, unit: str) -> None:
        self._run("restart", unit)

    def status(self, unit: str) -> UnitStatus:
        out = self._run("show", "--property=ActiveState", "--property=NRestarts", unit)
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        restarts = values.get("NRestarts", "0")
        return UnitStatus(values.get("ActiveState", "unknown"),
                          int(restarts) if restarts.isdigit() else 0)
