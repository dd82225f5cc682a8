"""Run the reader-controller firmware's logic under CPython, with the stub ``machine``.

Two ways in: :class:`ScriptedFirmware` feeds request lines through the real main loop and
collects what it writes (for the protocol vectors), and :class:`PtyFirmware` runs the main loop
in a thread on one end of a pseudo-terminal so the real host driver can open the other end, as
it would open /dev/ttyACM0. Both keep the board's physical state (:class:`BoardModel`) across a
simulated reset, as a real board would.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.pty_device import PtyDevice

REPO = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "hardware" / "firmware"
STUBS_DIR = Path(__file__).resolve().parent / "stubs"
VECTORS_FILE = REPO / "hardware" / "protocol-vectors.json"

# What a real RP2040 prints around a reset: the host must ignore all of it.
BOOT_NOISE = (
    b'{"id":7,"ok":tr'  # half a reply cut by the reset
    b"\xff\xfe\x00garbage\r\n"
    b"Traceback (most recent call last):\r\n"
    b'  File "main.py", line 5, in <module>\r\n'
    b"KeyboardInterrupt: \r\n"
    b"MPY: soft reboot\r\n"
    b"MicroPython v1.22.2 on 2024-02-22; Raspberry Pi Pico with RP2040\r\n"
    b'Type "help()" for more information.\r\n'
    b'{"event": "unknown_future_event"}\r\n'
)


def firmware_modules() -> dict[str, ModuleType]:
    """Import the firmware (and the stub ``machine``) as CPython modules."""
    for path in (str(STUBS_DIR), str(FIRMWARE_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    names = ("machine", "app", "app.clock", "app.loop", "app.protocol", "boards.rev_a")
    return {name: importlib.import_module(name) for name in names}


def load_vectors() -> dict[str, Any]:
    return json.loads(VECTORS_FILE.read_text(encoding="utf-8"))


def apply_board(model: Any, setup: dict[str, Any]) -> None:
    """Set the physical state a vector asks for (see PROTOCOL.md, 'board')."""
    for key, value in setup.items():
        if key == "tray":
            model.set_tray(value)
        elif key in {"temp_c", "cassette", "thermistor_raw", "tray_jammed"}:
            setattr(model, key, value)
        else:
            raise KeyError(f"unknown board setup key {key!r}")


class _Board:
    """The firmware modules, a board's definition and its physical state, installed as the
    stub ``machine``'s board (the state exists before the firmware boots: sensors are read
    at start-up)."""

    def __init__(self, board: str, setup: dict[str, Any] | None) -> None:
        self.mods = firmware_modules()
        self.machine = self.mods["machine"]
        self.app = self.mods["app"]
        self.board = self.app.load_board(board)
        self.model = self.machine.BoardModel(self.board)
        apply_board(self.model, setup or {})
        self.machine.use_board(self.model)


class ScriptedFirmware(_Board):
    """One booted firmware instance; :meth:`exchange` runs lines through the real main loop."""

    BOOT_ID = "0badcafe"

    def __init__(self, board: str = "rev_a", setup: dict[str, Any] | None = None) -> None:
        super().__init__(board, setup)
        self.clock = self.mods["app.clock"].Clock()
        self._loop_cls = self.mods["app.loop"].Loop
        self.port = _ScriptPort()
        self.wire = self.port.out  # everything the firmware wrote, to check for 0x03
        self.boot(self.BOOT_ID)

    def boot(self, boot_id: str) -> None:
        """(Re)start the firmware on the same board: writes its hello line."""
        self.reader = self.app.make_reader(self.machine, self.board, self.clock, boot_id)
        self.loop = self._loop_cls(self.port, self.reader)
        self.loop.boot()
        self.hello = self._take()[0]

    def exchange(self, data: bytes, polls: int = 1) -> list[dict[str, Any]]:
        """Send raw bytes, run ``polls`` more turns of the loop; return what it wrote."""
        self.port.pending = data
        for _ in range(polls + 1):
            if self.loop.step(idle_ms=0):
                break
        return self._take()

    def _take(self) -> list[dict[str, Any]]:
        lines = bytes(self.port.out[self.port.taken:]).split(b"\n")
        self.port.taken = len(self.port.out)
        return [json.loads(line) for line in lines if line]

    def close(self) -> None:
        self.machine.use_board(None)


class _ScriptPort:
    def __init__(self) -> None:
        self.pending = b""
        self.out = bytearray()
        self.taken = 0

    def read(self, timeout_ms: int) -> bytes:
        data, self.pending = self.pending, b""
        return data

    def write(self, data: bytes) -> None:
        self.out += data


class _PtyPort:
    def __init__(self, fd: int, wire: bytearray) -> None:
        self.fd = fd
        self.wire = wire

    def read(self, timeout_ms: int) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout_ms / 1000)
        if not ready:
            return b""
        try:
            return os.read(self.fd, 1024)
        except OSError:  # the host side closed: wait for it to come back
            return b""

    def write(self, data: bytes) -> None:
        self.wire += data
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]


class PtyFirmware(_Board, PtyDevice):
    """The firmware's main loop on a pseudo-terminal, rebooting after each reset.

    Attributes:
        path: the terminal the host opens (like /dev/ttyACM0).
        model: the board's physical state, kept across resets.
        reset_on_op: when set to an op name, the next request with that op resets the board
            before it answers (a reset mid-command), with the usual boot noise on the line.
        boots: how many times the firmware has started.
    """

    def __init__(self, board: str = "rev_a", setup: dict[str, Any] | None = None,
                 boot_noise: bytes = BOOT_NOISE) -> None:
        _Board.__init__(self, board, setup)
        PtyDevice.__init__(self, "pty-firmware")
        self._clock_cls = self.mods["app.clock"].Clock
        self._serve = self.mods["app.loop"].serve
        self.reset_on_op: str | None = None
        self.boot_noise = boot_noise
        self.boots = 0
        self.requests: list[dict[str, Any]] = []
        self.wire = bytearray()
        self.reader: Any = None

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.machine.use_board(None)

    def _boot(self) -> Any:
        self.boots += 1
        reader = self.app.make_reader(
            self.machine, self.board, self._clock_cls(), f"b00t{self.boots:04d}")
        handle = reader.handle

        def handle_with_faults(msg: dict[str, Any]) -> dict[str, Any]:
            self.requests.append(msg)
            if self.reset_on_op is not None and msg.get("op") == self.reset_on_op:
                self.reset_on_op = None
                raise self.machine.BoardReset()
            return handle(msg)

        reader.handle = handle_with_faults
        self.reader = reader
        return reader

    def _run(self) -> None:
        port = _PtyPort(self.master, self.wire)
        while not self._stop.is_set():
            try:
                reset = self._serve(port, self._boot(), stop=self._stop.is_set)
            except self.machine.BoardReset:
                reset = True
            if not reset:
                return
            os.write(self.master, self.boot_noise)  # not the firmware's bytes: not in .wire
