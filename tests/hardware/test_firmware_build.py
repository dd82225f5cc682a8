"""The firmware as files: it compiles with mpy-cross, main.py stays thin and resets after a
crash, and the wiring document matches the board files' pin tables."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hardware.firmware_harness import FIRMWARE_DIR, REPO, firmware_modules

FIRMWARE_FILES = sorted(FIRMWARE_DIR.rglob("*.py"))


def _mpy_cross() -> str:
    found = shutil.which("mpy-cross") or str(Path(sys.executable).parent / "mpy-cross")
    if not Path(found).exists():
        pytest.fail("mpy-cross is not installed: scripts/bootstrap dev installs it")
    return found


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: str(p.relative_to(FIRMWARE_DIR)))
def test_compiles_with_mpy_cross(path: Path, tmp_path: Path) -> None:
    result = subprocess.run([_mpy_cross(), "-o", str(tmp_path / "out.mpy"), str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.mpy").stat().st_size > 0


def test_mpy_cross_rejects_what_micropython_rejects(tmp_path: Path) -> None:
    """The compile check can fail: CPython-only syntax is refused."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f[T](x: T) -> T:\n    return x\n")
    result = subprocess.run([_mpy_cross(), "-o", str(tmp_path / "bad.mpy"), str(bad)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0


def test_wiring_md_matches_the_board_files() -> None:
    result = subprocess.run([sys.executable, str(REPO / "hardware" / "gen_wiring.py"), "--check"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_every_board_file_has_a_complete_consistent_pin_table() -> None:
    mods = firmware_modules()
    from app.hardware import SIGNALS, pin_table

    boards = sorted(p.stem for p in (FIRMWARE_DIR / "boards").glob("rev_*.py"))
    assert boards, "no board files"
    for name in boards:
        table = pin_table(mods["app"].load_board(name))
        assert set(table) == set(SIGNALS)


def test_pin_table_check_refuses_a_doubly_used_gpio() -> None:
    firmware_modules()
    from app.hardware import pin_table

    class Bad:
        PINS = (("led_pwm", 15, "out-pwm", ""), ("heater_pwm", 15, "out-pwm", ""))

    with pytest.raises(ValueError, match="GPIO 15 used by led_pwm and heater_pwm"):
        pin_table(Bad)


def test_main_prints_the_exception_and_resets(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A crash in the application ends in a printed traceback and a reset, not a dead board."""
    import types

    mods = firmware_modules()
    machine = mods["machine"]
    crashing = types.ModuleType("app")

    def main() -> None:
        raise RuntimeError("sensor bus stuck")

    crashing.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app", crashing)
    monkeypatch.setattr(sys, "print_exception", lambda exc: print(f"Traceback: {exc!r}"),
                        raising=False)
    import time

    monkeypatch.setattr(time, "sleep", lambda s: None)
    source = (FIRMWARE_DIR / "main.py").read_text()
    with pytest.raises(machine.BoardReset):
        exec(compile(source, "main.py", "exec"), {"__name__": "__main__"})
    assert "sensor bus stuck" in capsys.readouterr().out


def test_main_lets_ctrl_c_through_to_the_repl(monkeypatch: pytest.MonkeyPatch) -> None:
    """mpremote interrupts with Ctrl-C; main.py must not swallow it (or reset the board)."""
    import types

    firmware_modules()
    interrupted = types.ModuleType("app")

    def main() -> None:
        raise KeyboardInterrupt

    interrupted.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app", interrupted)
    source = (FIRMWARE_DIR / "main.py").read_text()
    with pytest.raises(KeyboardInterrupt):
        exec(compile(source, "main.py", "exec"), {"__name__": "__main__"})
