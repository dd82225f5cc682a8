"""The scanner: whole codes or a clear error (half a code, garbage, wrong kind of code), on
the simulated scanner, a serial scanner over a pty, and the keyboard-wedge decoder and evdev
backend through a scripted input device."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from device_drivers import DeviceAbsent, DeviceError, IncompleteScan, ScannerConfig, open_scanner
from device_drivers.scanner import EvdevScanner, KeyDecoder, SimulatedScanner
from tests.support.pty_device import raw_pty

KIT = r"NGKIT:[A-Z0-9]{4}-[0-9]{6}"


def _sim(**overrides: Any) -> SimulatedScanner:
    return SimulatedScanner(ScannerConfig(backend="simulated", char_timeout_s=0.1, **overrides))


def test_simulated_scan_round_trip() -> None:
    with _sim() as scanner:
        assert scanner.read_code(timeout_s=0.05) is None, "nothing scanned"
        scanner.scan("NGKIT:AB12-000123")
        assert scanner.read_code(timeout_s=1, pattern=KIT) == "NGKIT:AB12-000123"
        scanner.scan("https://verify.nongan.example/c/承诺")
        assert scanner.read_code(timeout_s=1) == "https://verify.nongan.example/c/承诺"
        assert scanner.health().state == "simulated"


def test_half_a_code_is_a_clear_error_not_a_scan() -> None:
    with _sim() as scanner:
        scanner.scan_partial("NGKIT:AB1")
        with pytest.raises(IncompleteScan, match="'NGKIT:AB1' without an end-of-code") as caught:
            scanner.read_code(timeout_s=1)
        assert "scan the code again" in caught.value.fix
        scanner.scan("NGKIT:AB12-000123")  # the next whole scan is read normally
        assert scanner.read_code(timeout_s=1) == "NGKIT:AB12-000123"


def test_truncated_payload_fails_the_callers_pattern() -> None:
    with _sim() as scanner:
        scanner.scan("NGKIT:AB12-0001")
        with pytest.raises(IncompleteScan, match="not a code this kiosk knows"):
            scanner.read_code(timeout_s=1, pattern=KIT)


def test_unprintable_and_over_long_codes_are_refused() -> None:
    with _sim(max_length=10) as scanner:
        scanner.scan("AB\x07CD")
        with pytest.raises(IncompleteScan, match="unprintable"):
            scanner.read_code(timeout_s=1)
        scanner.scan("X" * 30)
        with pytest.raises(IncompleteScan, match="more than 10 characters"):
            scanner.read_code(timeout_s=1)
        scanner.scan("OK")
        assert scanner.read_code(timeout_s=1) == "OK", "the long code was drained"


def test_lone_enter_is_not_a_scan() -> None:
    with _sim() as scanner:
        scanner.send("\n\n")
        assert scanner.read_code(timeout_s=0.1) is None


# -- serial scanner over a pty -------------------------------------------------------------------


@pytest.fixture
def pty_port() -> Iterator[tuple[int, str]]:
    with raw_pty() as pair:
        yield pair


def test_serial_scanner_reads_crlf_terminated_utf8_codes(pty_port: tuple[int, str]) -> None:
    master, path = pty_port
    cfg = ScannerConfig(backend="serial", target=path, char_timeout_s=0.2)
    with open_scanner(cfg) as scanner:
        os.write(master, b"NGKIT:AB12-000123\r\n")
        assert scanner.read_code(timeout_s=1, pattern=KIT) == "NGKIT:AB12-000123"
        os.write(master, "农户卡:0042\r".encode())
        assert scanner.read_code(timeout_s=1) == "农户卡:0042"
        assert scanner.read_code(timeout_s=0.1) is None, "the CR LF pair ended one code"


def test_serial_scanner_half_code_arriving_slowly(pty_port: tuple[int, str]) -> None:
    master, path = pty_port
    cfg = ScannerConfig(backend="serial", target=path, char_timeout_s=0.1)
    with open_scanner(cfg) as scanner:
        os.write(master, b"NGKIT:AB")
        timer = threading.Timer(0.4, os.write, (master, b"12-000123\r"))
        timer.start()
        try:
            with pytest.raises(IncompleteScan, match="'NGKIT:AB' without an end-of-code"):
                scanner.read_code(timeout_s=1)
        finally:
            timer.join()


def test_missing_scanner_is_absent() -> None:
    for backend in ("serial", "evdev"):
        cfg = ScannerConfig(backend=backend, target="/dev/input/nonexistent97")  # type: ignore[arg-type]
        with pytest.raises(DeviceAbsent, match="scanner not found"):
            open_scanner(cfg)


def test_evdev_backend_without_evdev_installed_says_so(tmp_path: Any) -> None:
    import importlib.util

    if importlib.util.find_spec("evdev") is not None:
        pytest.skip("evdev is installed here: this test is about its absence")
    node = tmp_path / "event0"
    node.write_bytes(b"")
    with pytest.raises(DeviceAbsent, match="needs the evdev package") as caught:
        open_scanner(ScannerConfig(backend="evdev", target=str(node)))
    assert "nongan[pi]" in caught.value.fix


# -- keyboard wedge -----------------------------------------------------------------------------

# Linux key codes used below
SHIFT, N, G, K, KEY_I, T, A, B, ONE, TWO, SEMI, MINUS, ZERO, ENTER = (
    42, 49, 34, 37, 23, 20, 30, 48, 2, 3, 39, 12, 11, 28)


def _typed(text: str) -> list[tuple[int, int]]:
    """Key events a US-layout wedge scanner sends for ``text`` + Enter."""
    codes = {"n": N, "g": G, "k": K, "i": KEY_I, "t": T, "a": A, "b": B, "1": ONE, "2": TWO,
             ";": SEMI, "-": MINUS, "0": ZERO}
    shifted = {":": ";", "_": "-"}
    events: list[tuple[int, int]] = []
    for ch in text:
        base = shifted.get(ch, ch.lower())
        shift = ch in shifted or ch.isupper()
        if shift:
            events.append((SHIFT, 1))
        events += [(codes[base], 1), (codes[base], 0)]
        if shift:
            events.append((SHIFT, 0))
    return [*events, (ENTER, 1), (ENTER, 0)]


def test_key_decoder_handles_shift() -> None:
    decoder = KeyDecoder()
    out = "".join(ch for code, value in _typed("NGKIT:AB12-0_a") if
                  (ch := decoder.feed(code, value)) is not None)
    assert out == "NGKIT:AB12-0_a\n"


@dataclass
class _Event:
    type: int
    code: int
    value: int


class ScriptedInputDevice:
    """Stands in for evdev.InputDevice: a pipe for select(), events from a script."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._r, self._w = os.pipe()
        self.fd = self._r
        self.pending: list[_Event] = []
        self.grabbed = False
        self.closed = False

    def type_(self, events: list[tuple[int, int]]) -> None:
        self.pending += [_Event(4, 4, 0)]  # an EV_MSC scan event, to be ignored
        self.pending += [_Event(1, code, value) for code, value in events]
        os.write(self._w, b"x")

    def read(self) -> Iterator[_Event]:
        os.read(self._r, 1)
        events, self.pending = self.pending, []
        return iter(events)

    def grab(self) -> None:
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True
        os.close(self._r)
        os.close(self._w)


def _evdev_scanner(tmp_path: Any) -> tuple[EvdevScanner, list[ScriptedInputDevice], Any]:
    """An evdev scanner on a scripted input node; every device it opens is in the list."""
    node = tmp_path / "event-kbd"
    node.write_bytes(b"")
    devices: list[ScriptedInputDevice] = []

    def factory(path: str) -> ScriptedInputDevice:
        devices.append(ScriptedInputDevice(path))
        return devices[-1]

    scanner = EvdevScanner(ScannerConfig(backend="evdev", target=str(node), char_timeout_s=0.1),
                           device_factory=factory)
    return scanner, devices, node


def test_evdev_scanner_reads_a_wedge_code(tmp_path: Any) -> None:
    scanner, devices, _ = _evdev_scanner(tmp_path)
    with scanner:
        assert devices[0].grabbed, "keystrokes must not reach the kiosk browser"
        devices[0].type_(_typed("NGKIT:AB12-000121"))
        assert scanner.read_code(timeout_s=1) == "NGKIT:AB12-000121"
        devices[0].type_(_typed("NGKIT:AB")[:-2])  # no Enter: half a code
        started = time.monotonic()
        with pytest.raises(IncompleteScan, match="'NGKIT:AB' without an end-of-code"):
            scanner.read_code(timeout_s=1)
        assert time.monotonic() - started < 0.5
    assert devices[0].closed and not devices[0].grabbed


def test_unknown_key_in_a_wedge_code_is_refused(tmp_path: Any) -> None:
    node = tmp_path / "event-kbd"
    node.write_bytes(b"")
    device = ScriptedInputDevice(str(node))
    scanner = EvdevScanner(ScannerConfig(backend="evdev", target=str(node)),
                           device_factory=lambda path: device)
    with scanner:
        device.type_([(A, 1), (A, 0), (59, 1), (59, 0), (ENTER, 1), (ENTER, 0)])  # F1
        with pytest.raises(IncompleteScan, match="unprintable"):
            scanner.read_code(timeout_s=1)


def test_a_gs1_code_keeps_its_gs_separators() -> None:
    code = "01029900000000191727063010LOT1\x1d21B0001\x1d3050"
    with _sim() as scanner:
        scanner.scan(code)
        assert scanner.read_code(timeout_s=1) == code
        scanner.scan("AB\x1e")  # other control characters are still refused
        with pytest.raises(IncompleteScan, match="unprintable"):
            scanner.read_code(timeout_s=1)


def test_key_decoder_types_ctrl_rightbrace_as_gs() -> None:
    ctrl, rightbrace, a = 29, 27, 30
    decoder = KeyDecoder()
    events = [(a, 1), (a, 0), (ctrl, 1), (rightbrace, 1), (rightbrace, 0), (ctrl, 0),
              (a, 1), (a, 0), (ctrl, 1), (a, 1), (a, 0), (ctrl, 0)]
    out = [ch for code, value in events if (ch := decoder.feed(code, value)) is not None]
    assert out == ["a", "\x1d", "a", "\x00"]  # Ctrl+A is no part of a code


# -- a scanner that goes away -------------------------------------------------------------------


def test_evdev_scanner_that_went_away_is_closed_and_reopened_when_back(tmp_path: Any) -> None:
    scanner, devices, node = _evdev_scanner(tmp_path)
    scanner.open()

    def unplugged() -> Iterator[_Event]:
        raise OSError(19, "No such device")

    devices[0].read = unplugged  # type: ignore[method-assign]
    devices[0].type_([])  # wake select()
    with pytest.raises(DeviceAbsent, match="went away"):
        scanner.read_code(timeout_s=1)
    assert not scanner.is_open and devices[0].closed, "the dead handle was dropped"

    node.unlink()  # still unplugged
    assert scanner.health().state == "absent"
    with pytest.raises(DeviceAbsent, match="scanner not found"):
        scanner.read_code(timeout_s=0.1)

    node.write_bytes(b"")  # plugged back in
    assert scanner.health().ok
    assert scanner.is_open, "a scanner that came back stays open for the reads that follow"
    devices[-1].type_(_typed("NGKIT:AB12-000121"))
    assert scanner.read_code(timeout_s=1) == "NGKIT:AB12-000121"
    scanner.close()
    with pytest.raises(DeviceError, match="not open"):
        scanner.read_code(timeout_s=0.1)


def test_serial_scanner_that_went_away_reopens_on_the_next_read(
        pty_port: tuple[int, str]) -> None:
    master, path = pty_port
    scanner = open_scanner(ScannerConfig(backend="serial", target=path, char_timeout_s=0.2))
    try:
        def unplugged(size: int = 1) -> bytes:
            raise OSError(5, "Input/output error")

        scanner._port.read = unplugged  # type: ignore[attr-defined]
        with pytest.raises(DeviceAbsent, match="went away"):
            scanner.read_code(timeout_s=0.5)
        assert not scanner.is_open
        assert scanner.read_code(timeout_s=0.1) is None  # reopened; nobody scanned
        assert scanner.is_open
        os.write(master, b"NGKIT:AB12-000123\r\n")
        assert scanner.read_code(timeout_s=1, pattern=KIT) == "NGKIT:AB12-000123"
    finally:
        scanner.close()
