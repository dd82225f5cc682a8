"""Flashing the reader controller over the air, with a way back (``FirmwareFlasher.flash``).

The kiosk replaces the board's firmware without a technician, so a flash must never leave a
board that does not answer:

1. shake hands with the board and note the version it runs (a board that runs the target
   version already is left alone);
2. copy the board's current firmware files off it (``backup``): no backup, no flash;
3. replace them with the new firmware and reset the board (``install``);
4. shake hands again within a time limit: the board must say hello and report the expected
   version;
5. otherwise put the backup back, reset, and check that the board answers with its old
   version: ``restored``, with the reason; if even that fails: ``failed`` — a technician
   must deploy by hand.

The transfer is a seam (:class:`FirmwareTransfer`): :class:`MpremoteTransfer` drives the real
mpremote over the board's serial port (the raw REPL: interrupt the firmware, write files,
reset). The simulated board of ``hardware/firmware/sim/board.py --flash`` speaks that REPL over
a pseudo-terminal, so the tests run mpremote itself against the firmware on MicroPython.

The caller must release the serial port first (the kiosk closes its reader driver): mpremote
and the handshake open it exclusively.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from .errors import DeviceError
from .firmware_tools import (
    FirmwareError,
    Runner,
    mpremote,
    query_board,
    run_mpremote,
    stage,
    wait_for_port,
)

FLASH_FILES = ("main.py", "board.txt")
FLASH_DIRS = ("app", "boards")

# Removes the firmware's folders from the board, quietly if they are not there (a fresh board).
REMOVE_TREES = """\
import os
def _rm(p):
    try:
        st = os.stat(p)
    except OSError:
        return
    if st[0] & 0x4000:
        for e in os.listdir(p):
            _rm(p + '/' + e)
        os.rmdir(p)
    else:
        os.remove(p)
for _p in %r:
    _rm(_p)
"""


class FirmwareTransfer(Protocol):
    """Moves firmware files to and from a board."""

    def backup(self, into: Path) -> list[str]:
        """Copy the board's firmware files (main.py, board.txt, app/, boards/) into ``into``;
        return the files copied. Raises FirmwareError when they cannot be read."""
        ...

    def install(self, source: Path) -> None:
        """Replace the board's firmware files with those in ``source`` and reset the board.
        Raises FirmwareError when the copy fails."""
        ...


class MpremoteTransfer:
    """The real transfer: mpremote over the board's serial port.

    Args:
        port: the board's serial port.
        runner: runs one mpremote command line (a seam for tests of the command lines).
        timeout_s: how long the port may take to come back after a reset.
    """

    def __init__(self, port: str, *, runner: Runner = run_mpremote,
                 timeout_s: float = 15.0) -> None:
        self.port = port
        self.runner = runner
        self.timeout_s = timeout_s

    def _mp(self, *args: str, cwd: Path, step: str) -> str:
        wait_for_port(self.port, self.timeout_s)
        try:
            result = self.runner([*mpremote(), "connect", self.port, *args], cwd)
        except (subprocess.TimeoutExpired, OSError) as exc:
            raise FirmwareError(f"mpremote failed at the {step} step: {exc}",
                                fix="check the board's USB cable, then flash again") from exc
        if result.returncode != 0:
            tail = (result.stderr or result.stdout or "").strip().splitlines()[-3:]
            raise FirmwareError(f"mpremote failed at the {step} step: "
                                f"{' / '.join(tail) or 'no output'}",
                                fix="check the board's USB cable, then flash again")
        return result.stdout or ""

    def backup(self, into: Path) -> list[str]:
        into.mkdir(parents=True, exist_ok=True)
        listing = self._mp("fs", "ls", ":", cwd=into, step="list")
        present = {line.split()[-1].rstrip("/") for line in listing.splitlines()[1:]
                   if line.strip()}
        if "main.py" not in present or "app" not in present:
            raise FirmwareError("the board has no firmware to keep (no main.py or app/)",
                                fix="deploy the firmware by hand: nongan firmware deploy")
        items = [n for n in (*FLASH_DIRS, *FLASH_FILES) if n in present]
        dirs = [f":{n}" for n in items if n in FLASH_DIRS]
        files = [f":{n}" for n in items if n in FLASH_FILES]
        args: list[str] = []
        if dirs:
            args += ["fs", "cp", "-r", *dirs, "."]
        if files:
            args += [*(["+"] if args else []), "fs", "cp", *files, "."]
        self._mp(*args, cwd=into, step="backup")
        return sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())

    def install(self, source: Path) -> None:
        dirs = [d for d in FLASH_DIRS if (source / d).is_dir()]
        files = [f for f in FLASH_FILES if (source / f).is_file()]
        self._mp("exec", REMOVE_TREES % (list(FLASH_DIRS),), "+",
                 "fs", "cp", "-r", *dirs, ":", "+",
                 "fs", "cp", *files, ":", "+", "reset", cwd=source, step="copy")


FlashState = Literal["flashed", "unchanged", "restored", "failed"]


@dataclass(frozen=True)
class FlashOutcome:
    """What a flash did.

    Attributes:
        state: ``flashed`` (the board runs ``expected``), ``unchanged`` (it already did),
            ``restored`` (the new firmware did not come up; the board runs its old firmware
            again), ``failed`` (the board does not answer: a technician must deploy by hand).
        previous: the version the board ran before (None: it did not answer).
        running: the version it runs now (None: it does not answer).
        expected: the version that was to be flashed.
        reason: in words.
    """

    state: FlashState
    previous: str | None
    running: str | None
    expected: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.state in ("flashed", "unchanged")


class FirmwareFlasher:
    """Flashes one board (see the module docstring).

    Args:
        port: the board's serial port.
        transfer: how files reach the board (default: mpremote on ``port``).
        verify_timeout_s: how long the board may take to say hello after a reset.
        log: progress lines.
    """

    def __init__(self, port: str, transfer: FirmwareTransfer | None = None, *,
                 verify_timeout_s: float = 15.0,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.port = port
        self.transfer = transfer or MpremoteTransfer(port, timeout_s=verify_timeout_s)
        self.verify_timeout_s = verify_timeout_s
        self.log = log

    def _version(self, expected: str) -> tuple[str | None, str]:
        try:
            report = query_board(self.port, expected, self.verify_timeout_s)
        except DeviceError as exc:
            return None, str(exc)
        return report.info.fw, ""

    def flash(self, firmware_dir: Path, expected_version: str, *, board: str = "rev_a",
              force: bool = False) -> FlashOutcome:
        """Put the firmware in ``firmware_dir`` (main.py, app/, boards/) on the board.

        Raises:
            FirmwareError: before anything was changed on the board (no backup possible, no
                such board revision); the board is as it was.
        """
        previous, why = self._version(expected_version)
        if previous == expected_version and not force:
            return FlashOutcome("unchanged", previous, previous, expected_version,
                                f"the board already runs {previous}")
        self.log(f"board runs {previous or f'nothing that answers ({why})'}; keeping a copy")
        with tempfile.TemporaryDirectory(prefix="nongan-fw-flash-") as tmp:
            backup, staged = Path(tmp) / "backup", Path(tmp) / "new"
            staged.mkdir()
            stage(firmware_dir, board, staged)
            self.transfer.backup(backup)
            self.log(f"flashing {expected_version}")
            try:
                self.transfer.install(staged)
            except FirmwareError as exc:
                return self._restore(backup, previous, expected_version,
                                     f"the copy failed: {exc.args[0]}")
            running, why = self._version(expected_version)
            if running == expected_version:
                return FlashOutcome("flashed", previous, running, expected_version,
                                    f"the board runs {running} (was {previous})")
            problem = (f"the board reports {running}, not {expected_version}" if running
                       else f"the board did not come back with the new firmware: {why}")
            return self._restore(backup, previous, expected_version, problem)

    def _restore(self, backup: Path, previous: str | None, expected: str,
                 problem: str) -> FlashOutcome:
        self.log(f"{problem}; putting the previous firmware back")
        try:
            self.transfer.install(backup)
        except FirmwareError as exc:
            return FlashOutcome("failed", previous, None, expected,
                                f"{problem}; restoring the previous firmware failed too: "
                                f"{exc.args[0]} — deploy by hand (nongan firmware deploy)")
        running, why = self._version(previous or expected)
        if running is not None and running == previous:
            return FlashOutcome("restored", previous, running, expected,
                                f"{problem}; the board runs {running} again")
        return FlashOutcome("failed", previous, running, expected,
                            f"{problem}; after restoring, the board "
                            f"{'reports ' + running if running else 'does not answer: ' + why}"
                            " — deploy by hand (nongan firmware deploy)")


def copy_firmware(source: Path, into: Path) -> None:
    """Copy a firmware folder (main.py, app/, boards/), without caches or the simulator."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mpy", "sim")
    shutil.copytree(source, into, ignore=ignore, dirs_exist_ok=True)
