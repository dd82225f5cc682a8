"""The firmware as files: it compiles with mpy-cross (the simulated board in sim/ too), the board
files' pin tables are complete, main.py resets after a crash (these two on the MicroPython VM),
the wiring document matches the pin tables, and the MicroPython-side test runner is honest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hardware.firmware_harness import (
    FIRMWARE_DIR,
    REPO,
    assert_upy_passed,
    load_vectors,
    run_upy_suite,
    upy_test_names,
)

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


@pytest.mark.parametrize("name", upy_test_names("build_tests"))
def test_on_micropython(name: str, upy_results: dict[str, dict[str, Any]]) -> None:
    """Board files' pin tables and main.py's crash and Ctrl-C handling, on the MicroPython VM
    (tests/hardware/upy/build_tests.py)."""
    assert_upy_passed(upy_results, name)


def test_the_runner_ran_every_micropython_test(upy_results: dict[str, dict[str, Any]]) -> None:
    """No MicroPython-side test is silently left out: the runner ran exactly the test_*
    functions of its modules and one test per protocol vector."""
    expected = {f"vector: {v['name']}" for v in load_vectors()["vectors"]}
    for module in ("logic_tests", "vector_tests", "build_tests"):
        expected |= set(upy_test_names(module))
    assert set(upy_results) == expected


def test_the_runner_reports_a_failing_test(tmp_path: Path) -> None:
    """The MicroPython-side checks can fail: a failing test comes back with its traceback,
    a passing one as passed, and a crash in a test does not stop the others."""
    (tmp_path / "sample_tests.py").write_text(
        "def test_fails():\n"
        "    assert 1 + 1 == 3, 'arithmetic'\n"
        "def test_raises():\n"
        "    {}['missing']\n"
        "def test_passes():\n"
        "    import sys\n"
        "    assert sys.implementation.name == 'micropython'\n")
    results = run_upy_suite("sample_tests", extra_path=tmp_path)
    assert results["test_passes"]["ok"] is True
    assert results["test_fails"]["ok"] is False
    assert "AssertionError: arithmetic" in results["test_fails"]["error"]
    assert "KeyError" in results["test_raises"]["error"]
    with pytest.raises(AssertionError, match="failed under MicroPython"):
        assert_upy_passed(results, "test_fails")
