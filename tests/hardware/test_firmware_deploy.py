"""`nongan firmware deploy|status` without a board: the mpremote command lines go to a fake
runner, and the hello-line check talks to the firmware on the MicroPython VM over a pty."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from device_drivers.config import ReaderConfig
from device_drivers.firmware_tools import (
    FirmwareError,
    deploy,
    deploy_commands,
    repository_version,
)
from device_drivers.reader import SerialReaderController
from nongan.cli import main
from tests.hardware.firmware_harness import FIRMWARE_DIR, MicroPythonBoard


class FakeMpremote:
    """Records each mpremote call and what the staging directory held."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[list[str]] = []
        self.staged: list[set[str]] = []
        self.board_txt: list[str] = []
        self.returncode = returncode
        self.stderr = stderr

    def __call__(self, args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        self.staged.append({str(p.relative_to(cwd)) for p in cwd.rglob("*") if p.is_file()})
        self.board_txt.append((cwd / "board.txt").read_text())
        return subprocess.CompletedProcess(args, self.returncode, "", self.stderr)


def test_repository_version_is_read_from_version_py() -> None:
    """What deploy compares with is what the firmware itself reports in its hello line."""
    with MicroPythonBoard() as board, SerialReaderController(ReaderConfig(
            backend="serial", port=board.path, timeout_s=5.0, handshake_timeout_s=10.0)) as ctl:
        assert repository_version(FIRMWARE_DIR) == ctl.info.fw


def test_deploy_copies_resets_and_verifies_the_hello() -> None:
    fake = FakeMpremote()
    with MicroPythonBoard() as board:
        report = deploy(board.path, runner=fake, verify_timeout_s=15, log=lambda m: None)
    assert report.up_to_date and report.info.fw == repository_version()
    assert [c[3:6] for c in fake.calls] == [["connect", board.path, "reset"],
                                            ["connect", board.path, "fs"]]
    copy = fake.calls[1]
    assert copy[6:] == ["cp", "-r", "app", "boards", ":", "+", "fs", "cp", "main.py",
                        "board.txt", ":", "+", "reset"]
    staged = fake.staged[1]
    assert {"main.py", "board.txt", "boards/rev_a.py", "app/__init__.py",
            "app/drivers/heater.py"} <= staged
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in staged)
    # the simulated board stays home: its machine.py would shadow the board's own
    assert not any(f.startswith("sim/") or f.endswith("machine.py") for f in staged)
    assert fake.board_txt[1] == "rev_a\n"
    assert deploy_commands(board.path)[0][1] == fake.calls[0]


def test_deploy_refuses_a_board_reporting_another_version(tmp_path: Path) -> None:
    firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, firmware, ignore=shutil.ignore_patterns("__pycache__"))
    (firmware / "app" / "version.py").write_text('VERSION = "9.9.9"\nPROTOCOL = 1\n')
    with MicroPythonBoard() as board, pytest.raises(FirmwareError) as caught:
        deploy(board.path, firmware_dir=firmware, runner=FakeMpremote(), verify_timeout_s=15,
               log=lambda m: None)
    assert f"reports firmware {repository_version()}, the repository has 9.9.9" in str(
        caught.value)
    assert "deploy again" in caught.value.fix


def test_deploy_to_an_absent_port_runs_nothing() -> None:
    fake = FakeMpremote()
    with pytest.raises(FirmwareError, match="no board at /dev/ttyACM96"):
        deploy("/dev/ttyACM96", runner=fake, log=lambda m: None)
    assert fake.calls == []


def test_mpremote_failure_is_reported_with_its_words() -> None:
    fake = FakeMpremote(returncode=1, stderr="mpremote: failed to access /dev/pts/x (it may "
                                             "be in use by another program)")
    with MicroPythonBoard() as board, pytest.raises(FirmwareError) as caught:
        deploy(board.path, runner=fake, log=lambda m: None)
    assert "mpremote failed at the reset step" in str(caught.value)
    assert "in use by another program" in str(caught.value)
    assert len(fake.calls) == 1, "nothing copied after a failed step"


def test_unknown_board_revision_is_refused() -> None:
    with MicroPythonBoard() as board, pytest.raises(FirmwareError, match="no board file"):
        deploy(board.path, board="rev_z", runner=FakeMpremote(), log=lambda m: None)


def test_status_command(capsys: pytest.CaptureFixture[str]) -> None:
    with MicroPythonBoard(setup={"temp_c": 25.0, "tray": "in", "cassette": True}) as board:
        assert main(["firmware", "status", "--port", board.path]) == 0
    out = capsys.readouterr().out
    assert f"firmware:  {repository_version()} (repository: {repository_version()})" in out
    assert "board:     rev_a" in out and "cassette: yes" in out and "25.0 °C" in out


def test_status_command_without_a_board(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["firmware", "status", "--port", "/dev/ttyACM95"]) == 1
    err = capsys.readouterr().err
    assert "error: no board at /dev/ttyACM95" in err and "fix: plug the reader board" in err


def test_deploy_command_line_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["firmware", "deploy", "--help"])
    assert "--port" in capsys.readouterr().out


def test_mpremote_is_installed_for_the_real_runner() -> None:
    from device_drivers.firmware_tools import mpremote

    result = subprocess.run([*mpremote(), "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "connect" in result.stdout
