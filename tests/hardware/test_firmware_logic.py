"""The firmware's behaviour over time, on the MicroPython VM: tray moves and jams, cassette
events, heater control and its cut-offs, the lazy watchdog, host silence, line framing
(tests/hardware/upy/logic_tests.py, one pytest test each); and, through the real board process
on a pseudo-terminal, the rule that no 0x03 byte ever leaves the board, whatever arrives."""

from __future__ import annotations

import itertools
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hardware.firmware_harness import (
    SIM_DIR,
    MicroPythonBoard,
    assert_upy_passed,
    micropython,
    upy_env,
    upy_test_names,
)

LOGIC_TESTS = upy_test_names("logic_tests")


@pytest.mark.parametrize("name", LOGIC_TESTS)
def test_on_micropython(name: str, upy_results: dict[str, dict[str, Any]]) -> None:
    assert_upy_passed(upy_results, name)


def test_the_logic_tests_cover_what_the_cpython_ones_did() -> None:
    """The tests moved from CPython to MicroPython are all still there."""
    assert {
        "test_tray_moves_in_and_reports_arrival", "test_tray_jam_is_a_latched_fault",
        "test_cassette_insertion_is_debounced_then_reported",
        "test_heater_drives_power_toward_the_setpoint",
        "test_overtemperature_cuts_the_heater_and_locks_it",
        "test_thermistor_failure_while_heating_turns_the_heater_off",
        "test_heater_goes_off_when_the_host_falls_silent",
        "test_watchdog_is_armed_only_by_an_actuator_and_then_fed",
        "test_boot_line_is_a_hello_event_with_the_reset_cause",
        "test_non_utf8_line_is_reported_not_fatal",
        "test_a_request_split_across_reads_is_reassembled",
        "test_encoder_escapes_a_raw_ctrl_c",
    } <= set(LOGIC_TESTS)


@pytest.fixture(scope="module")
def line_board() -> Iterator[MicroPythonBoard]:
    with MicroPythonBoard() as fw:
        yield fw


_fence_ids = itertools.count(1_000_000)


def _send_and_fence(board: MicroPythonBoard, data: bytes) -> bytes:
    """Write ``data`` and a hello request to the board; return every byte it sent back up to
    that hello's reply. The hello is sent again if a reset took it (a real board loses what
    was in its USB buffer when it resets too)."""
    received = bytearray()
    board.send(data + b"\n")
    for _ in range(5):
        fence = next(_fence_ids)
        board.send(b'{"id":%d,"op":"hello"}\n' % fence)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            ready, _, _ = select.select([board.slave], [], [], 0.1)
            if ready:
                received += os.read(board.slave, 4096)
            for line in bytes(received).split(b"\n"):
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and msg.get("id") == fence:
                    return bytes(received)
    raise AssertionError(f"the board stopped answering; it sent {bytes(received)[-500:]!r}")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=60).map(
    lambda t: json.dumps({"id": 1, "op": t, "level": t}).encode()))
def test_no_ctrl_c_ever_leaves_the_board(line_board: MicroPythonBoard, data: bytes) -> None:
    received = _send_and_fence(line_board, data)
    assert b"\x03" not in received
    assert line_board.state()["ctrl_c"] == 0


def test_the_main_loop_runs_on_when_the_serial_input_ends(tmp_path: Path) -> None:
    """When the board's serial input reports end of file (the unix port's stdin once the host
    end closes), the firmware keeps running its control loop: the tray still stops at its
    switch and reports, rather than the USB read spinning on empty reads for ever."""
    line_in, host_end = os.pipe()
    os.write(host_end, b'{"id":1,"op":"tray","pos":"in"}\n')
    os.close(host_end)  # end of file right behind the request
    try:
        proc = subprocess.Popen(
            [micropython(), str(SIM_DIR / "board.py"), "--setup", '{"tray": "out"}'],
            stdin=line_in, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
            env=upy_env())
    finally:
        os.close(line_in)
    assert proc.stdout is not None
    out = bytearray()
    try:
        deadline = time.monotonic() + 10.0  # generous; the board never exits by itself
        while b'"event": "tray"' not in out and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                out += os.read(proc.stdout.fileno(), 4096)
    finally:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith(b"{")]
    assert {"id": 1, "ok": True, "tray": "moving"} in lines, (bytes(out), err)
    assert {"event": "tray", "pos": "in"} in lines, "the loop stalled after end of file"
