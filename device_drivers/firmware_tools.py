"""Deploying the reader-controller firmware with mpremote, and checking what a board runs.

``deploy``: reset the board (a hard reset disarms its watchdog, see hardware/firmware/app/
watchdog.py), copy main.py, app/, boards/ and board.txt with mpremote, reset again, then shake
hands over the serial protocol and check that the version the board reports is the one in the
repository. mpremote is run through a ``runner`` seam so the command lines can be tested
without a board.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from device_drivers.config import ReaderConfig
from device_drivers.errors import DeviceAbsent, DeviceError
from device_drivers.reader import FirmwareInfo, ReaderStatus, SerialReaderController

DEFAULT_FIRMWARE_DIR = Path(__file__).resolve().parents[1] / "hardware" / "firmware"

Runner = Callable[[Sequence[str], Path], "subprocess.CompletedProcess[str]"]


class FirmwareError(DeviceError):
    """Deployment or verification failed; the message says which step."""


def run_mpremote(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one mpremote command line (the real runner)."""
    return subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=180)


def mpremote() -> list[str]:
    """How to start mpremote: the module of this interpreter's environment."""
    return [sys.executable, "-m", "mpremote"]


def repository_version(firmware_dir: Path = DEFAULT_FIRMWARE_DIR) -> str:
    """The VERSION in app/version.py, read without importing MicroPython code."""
    path = firmware_dir / "app" / "version.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FirmwareError(f"no firmware at {firmware_dir}: {exc}",
                            fix="run from a checkout of the repository, or pass "
                                "--firmware-dir") from exc
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "VERSION"
                and isinstance(node.value, ast.Constant)):
            return str(node.value.value)
    raise FirmwareError(f"{path} has no VERSION", fix="restore hardware/firmware/app/version.py")


def boards(firmware_dir: Path = DEFAULT_FIRMWARE_DIR) -> list[str]:
    return sorted(p.stem for p in (firmware_dir / "boards").glob("rev_*.py"))


def stage(firmware_dir: Path, board: str, into: Path) -> list[str]:
    """Copy what goes on the board into ``into`` (no caches) plus board.txt; list the files."""
    if board not in boards(firmware_dir):
        raise FirmwareError(f"no board file boards/{board}.py",
                            fix=f"choose one of: {', '.join(boards(firmware_dir))}")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mpy")
    shutil.copy2(firmware_dir / "main.py", into / "main.py")
    shutil.copytree(firmware_dir / "app", into / "app", ignore=ignore)
    shutil.copytree(firmware_dir / "boards", into / "boards", ignore=ignore)
    (into / "board.txt").write_text(board + "\n", encoding="utf-8")
    return sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())


def deploy_commands(port: str) -> list[tuple[str, list[str]]]:
    """The steps of a deployment: (name, mpremote command line run in the staging dir)."""
    mp = [*mpremote(), "connect", port]
    return [
        ("reset", [*mp, "reset"]),
        ("copy", [*mp, "fs", "cp", "-r", "app", "boards", ":", "+",
                  "fs", "cp", "main.py", "board.txt", ":", "+", "reset"]),
    ]


def _check_port(port: str) -> None:
    if port.startswith("/dev/") and not Path(port).exists():
        raise FirmwareError(f"no board at {port}",
                            fix="plug the reader board in by USB and check the port "
                                "(ls /dev/ttyACM*); stop the kiosk service if it holds it")


def wait_for_port(port: str, timeout_s: float) -> None:
    """After a reset the USB port disappears and comes back: wait for it."""
    deadline = time.monotonic() + timeout_s
    while port.startswith("/dev/") and not Path(port).exists():
        if time.monotonic() > deadline:
            raise FirmwareError(f"the board did not come back on {port} after its reset",
                                fix="unplug and replug the board, then run the command again")
        time.sleep(0.1)


@dataclass(frozen=True)
class BoardReport:
    """What a board said about itself."""

    info: FirmwareInfo
    status: ReaderStatus
    expected: str

    @property
    def up_to_date(self) -> bool:
        return self.info.fw == self.expected


def query_board(port: str, expected: str, timeout_s: float = 10.0) -> BoardReport:
    """Shake hands with the board on ``port`` and read its status."""
    _check_port(port)
    wait_for_port(port, timeout_s)
    cfg = ReaderConfig(backend="serial", port=port, handshake_timeout_s=timeout_s,
                       reconnect_s=timeout_s)
    try:
        with SerialReaderController(cfg) as reader:
            return BoardReport(reader.info, reader.status(), expected)
    except DeviceAbsent as exc:
        raise FirmwareError(str(exc), fix=exc.fix) from exc


def deploy(port: str, *, board: str = "rev_a", firmware_dir: Path = DEFAULT_FIRMWARE_DIR,
           runner: Runner = run_mpremote, verify_timeout_s: float = 15.0,
           log: Callable[[str], None] = print) -> BoardReport:
    """Copy the firmware to the board on ``port`` and check its hello.

    Raises:
        FirmwareError: the port is absent, mpremote failed, or the board reports another
            version than the repository.
    """
    expected = repository_version(firmware_dir)
    _check_port(port)
    with tempfile.TemporaryDirectory(prefix="nongan-fw-") as tmp:
        staging = Path(tmp)
        files = stage(firmware_dir, board, staging)
        log(f"deploying firmware {expected} for {board} to {port}: {len(files)} files")
        for index, (step, command) in enumerate(deploy_commands(port)):
            if index:
                wait_for_port(port, verify_timeout_s)
            result = runner(command, staging)
            if result.returncode != 0:
                tail = (result.stderr or result.stdout or "").strip().splitlines()[-3:]
                raise FirmwareError(
                    f"mpremote failed at the {step} step: {' / '.join(tail) or 'no output'}",
                    fix="check the port, close other programs using it (the kiosk service, "
                        "screen, Thonny), then run the command again")
    log("reset; waiting for the board's hello")
    report = query_board(port, expected, verify_timeout_s)
    if not report.up_to_date:
        raise FirmwareError(
            f"the board on {port} reports firmware {report.info.fw}, the repository has "
            f"{expected}",
            fix="the copy did not take: run nongan firmware deploy again; if it persists, "
                "hold BOOTSEL, replug, and reinstall MicroPython")
    return report
