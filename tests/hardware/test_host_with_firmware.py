"""Both ends together: the real host driver (pyserial) opens one end of a pseudo-terminal, the
firmware runs on the MicroPython VM on the other (hardware/firmware/sim/board.py: the real
main.py and USB port code, the simulated machine). The host's protocol vectors pass end to
end, and the faults of a real USB line are survived: a board that resets mid-command, garbage."""

from __future__ import annotations

import os
from typing import Any

import pytest

from device_drivers.config import ReaderConfig
from device_drivers.errors import ReaderError
from device_drivers.firmware_tools import repository_version
from device_drivers.reader import SerialReaderController
from tests.hardware.firmware_harness import MicroPythonBoard, load_vectors
from tests.hardware.matching import matches

HOST_VECTORS = [v for v in load_vectors()["vectors"] if "host" in v]


def _config(path: str, **overrides: Any) -> ReaderConfig:
    # Generous timeouts: the board answers in milliseconds, but the test machine may be loaded.
    return ReaderConfig(backend="serial", port=path, timeout_s=5.0, handshake_timeout_s=10.0,
                        **overrides)


@pytest.mark.parametrize("vector", HOST_VECTORS, ids=[v["name"] for v in HOST_VECTORS])
def test_vector_end_to_end(vector: dict[str, Any]) -> None:
    with (MicroPythonBoard(setup=vector.get("board", {})) as fw,
          SerialReaderController(_config(fw.path)) as ctl):
        host = vector["host"]
        call = getattr(ctl, host["call"])
        if "raises" in host:
            with pytest.raises(ReaderError) as caught:
                call(**host["args"])
            assert caught.value.code == host["raises"]
        else:
            result = call(**host["args"])
            result = result.as_dict() if hasattr(result, "as_dict") else result
            assert matches(host["returns"], result), (host["returns"], result)
        state = fw.state()
        assert state["ops"][-1] == vector["request"].split('"op":"')[1].split('"')[0]
        assert state["boots"] == 1, "the board must answer, not reset"


def test_handshake_reports_the_firmware(board: MicroPythonBoard) -> None:
    with SerialReaderController(_config(board.path)) as ctl:
        assert ctl.info.fw == repository_version()
        assert ctl.info.board == "rev_a"
        assert ctl.info.boot == board.state()["boot_id"]
        assert ctl.health().ok


def test_tray_and_cassette_waits(board: MicroPythonBoard) -> None:
    board.set(tray="out")
    with SerialReaderController(_config(board.path)) as ctl:
        ctl.close_tray(timeout_s=10)
        assert ctl.tray == "in"
        assert not ctl.wait_for_cassette(timeout_s=0.2)
        board.set(cassette=True)
        assert ctl.wait_for_cassette(timeout_s=10)
        ctl.open_tray(timeout_s=10)
        assert ctl.tray == "out"
        assert board.state()["outputs"]["tray_in2"] == 0, "the motor stopped at the switch"


def test_jammed_tray_is_a_clear_error(board: MicroPythonBoard) -> None:
    board.set(tray="out", tray_jammed=True)
    with SerialReaderController(_config(board.path)) as ctl:
        board.probe(tray_timeout_ms=200)
        with pytest.raises(ReaderError) as caught:
            ctl.close_tray(timeout_s=10)
        assert caught.value.code == "tray_jammed"
        assert "free the tray" in caught.value.fix
        assert ctl.health().state == "fault"


def test_heater_reaches_the_setpoint(board: MicroPythonBoard) -> None:
    board.set(heat_rate_c_per_s=20.0)
    with SerialReaderController(_config(board.path)) as ctl:
        ctl.set_heater(37.0)
        assert ctl.wait_for_temperature(37.0, tolerance_c=1.5, timeout_s=30)
        assert board.state()["wdt_timeout_ms"] == 8000, "heating armed the watchdog"
        ctl.set_heater(None)
        assert board.state()["duty"]["heater_pwm"] == 0.0


def test_board_reset_mid_command_is_recovered(board: MicroPythonBoard) -> None:
    """The board resets while answering: the host ignores the boot noise, sees the hello,
    restores the LED and heater it had asked for, and sends the command again."""
    with SerialReaderController(_config(board.path, retries=1)) as ctl:
        ctl.set_led(0.75)
        ctl.set_heater(35.0)
        first = ctl.info.boot
        board.reset_on_op("status")
        status = ctl.status()
        state = board.state()
        assert state["boots"] == 2
        assert ctl.resets == 1
        assert ctl.info.boot == state["boot_id"] != first
        assert status.led == 0.75, "the LED level was restored after the reset"
        assert status.setpoint_c == 35.0, "the heater set-point was restored after the reset"
        assert ctl.noise_lines >= 5, "banner, traceback and garbage lines were skipped"


def test_board_reset_with_no_retry_left_is_a_clear_error(board: MicroPythonBoard) -> None:
    from device_drivers.errors import ReaderReset

    with SerialReaderController(_config(board.path, retries=0)) as ctl:
        board.reset_on_op("led")
        with pytest.raises(ReaderReset, match="reset while 'led' was in flight"):
            ctl.set_led(0.5)
        assert ctl.resets == 1
        ctl.set_led(0.5)  # the line is usable again at once
        assert ctl.status().led == 0.5


def test_garbage_on_the_line_is_skipped(board: MicroPythonBoard) -> None:
    with SerialReaderController(_config(board.path)) as ctl:
        os.write(board.master, b"\x00\xff\xfe#!garbage\r\n{\"half\":\nMPY: soft reboot\r\n")
        assert ctl.status().tray in {"in", "out", "unknown"}
        assert ctl.noise_lines >= 3
        # and garbage the other way: the board reports it and keeps answering
        ctl._write(b"\xff\xfegarbage\n")
        assert ctl.hello().board == "rev_a"
        assert board.boots == 1


def test_reset_op_reboots_the_board(board: MicroPythonBoard) -> None:
    with SerialReaderController(_config(board.path)) as ctl:
        first = ctl.info.boot
        ctl._command("reset")
        assert ctl.hello().boot != first
        state = board.state()
        assert state["boots"] == 2
        assert state["ctrl_c"] == 0, "no 0x03 byte left the board"


def test_a_board_that_resets_at_every_heater_command_is_a_clear_error(
        board: MicroPythonBoard) -> None:
    """A board that browns out whenever it heats resets again at each restore of the heater:
    the host gives up after its retries with the power-supply fix, instead of restoring the
    heater, seeing the next reset and restoring again, one level deeper each time."""
    from device_drivers.errors import ReaderReset

    with SerialReaderController(_config(board.path, retries=1)) as ctl:
        board.reset_on_op("heater", count=1000)
        with pytest.raises(ReaderReset, match="reset while 'heater' was in flight") as caught:
            ctl.set_heater(37.0)
        assert "power supply" in caught.value.fix
        assert ctl.resets <= 4
        assert board.boots <= 5
        board.reset_on_op("heater", count=0)
        ctl.set_heater(None)  # the board is usable again
        assert ctl.status().setpoint_c is None
