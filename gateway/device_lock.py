"""One process at a time drives a kiosk's real devices: an advisory lock file says which.

Two programs on one serial line steal each other's replies, and a camera opened twice fails in
ways that look like a hardware fault. So whoever opens the kiosk's real devices — the gateway
service, ``nongan doctor``, ``nongan calibrate``, ``nongan kits scan`` — first takes
``{data_dir}/devices.lock`` (``flock``, released by the kernel when the process ends, however
it ends), and the second one is told who holds it instead of fighting over the hardware.
Simulated devices live inside one process and need no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .errors import GatewayError


class DevicesInUse(GatewayError):
    """Another process holds the kiosk's devices; ``pid`` says which, when known."""

    code = "devices_in_use"
    translation_key = "error.devices_in_use"

    def __init__(self, path: Path, pid: int | None) -> None:
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"the kiosk's devices are in use by {who} (lock {path})")
        self.path = path
        self.pid = pid


class DeviceLock:
    """An exclusive, non-blocking lock on a file holding the owner's process id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DeviceLock:
        """Take the lock.

        Raises:
            DevicesInUse: another process (or another open of this file) holds it.
        """
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DevicesInUse(self.path, holder(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock


def holder(path: Path) -> int | None:
    """The process id written in a lock file (who holds it, if anyone does)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
