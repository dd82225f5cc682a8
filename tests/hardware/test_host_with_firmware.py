"""Both ends together: the real host driver (pyserial) opens one end of a pseudo-terminal, the
firmware's logic (CPython, stub machine) runs on the other. The same vectors pass end to end,
and the faults of a real USB line are survived: a board that resets mid-command, garbage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from device_drivers.config import ReaderConfig
from device_drivers.errors import ReaderError
from device_drivers.reader import SerialReaderController
from tests.hardware.firmware_harness import PtyFirmware, load_vectors
from tests.hardware.matching import matches

HOST_VECTORS = [v for v in load_vectors()["vectors"] if "host" in v]


def _config(path: str, **overrides: Any) -> ReaderConfig:
    return ReaderConfig(backend="serial", port=path, timeout_s=1.0, handshake_timeout_s=2.0,
                        **overrides)


@pytest.fixture
def board() -> Iterator[PtyFirmware]:
    with PtyFirmware() as fw:
        yield fw


@pytest.mark.parametrize("vector", HOST_VECTORS, ids=[v["name"] for v in HOST_VECTORS])
def test_vector_end_to_end(vector: dict[str, Any]) -> None:
    with (PtyFirmware(setup=vector.get("board", {})) as fw,
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
        assert fw.requests[-1]["op"] == vector["request"].split('"op":"')[1].split('"')[0]


def test_handshake_reports_the_firmware(board: PtyFirmware) -> None:
    from app.version import VERSION

    with SerialReaderController(_config(board.path)) as ctl:
        assert ctl.info.fw == VERSION
        assert ctl.info.board == "rev_a"
        assert ctl.health().ok


def test_tray_and_cassette_waits(board: PtyFirmware) -> None:
    board.model.set_tray("out")
    with SerialReaderController(_config(board.path)) as ctl:
        ctl.close_tray(timeout_s=3)
        assert ctl.tray == "in"
        assert not ctl.wait_for_cassette(timeout_s=0.2)
        board.model.cassette = True
        assert ctl.wait_for_cassette(timeout_s=3)
        ctl.open_tray(timeout_s=3)
        assert ctl.tray == "out"


def test_jammed_tray_is_a_clear_error(board: PtyFirmware) -> None:
    board.model.set_tray("out")
    board.model.tray_jammed = True
    with SerialReaderController(_config(board.path)) as ctl:
        board.reader.hw["tray"]._timeout_ms = 200
        with pytest.raises(ReaderError) as caught:
            ctl.close_tray(timeout_s=3)
        assert caught.value.code == "tray_jammed"
        assert "free the tray" in caught.value.fix
        assert ctl.health().state == "fault"


def test_heater_reaches_the_setpoint(board: PtyFirmware) -> None:
    board.model.heat_rate_c_per_s = 20.0
    with SerialReaderController(_config(board.path)) as ctl:
        ctl.set_heater(37.0)
        assert ctl.wait_for_temperature(37.0, tolerance_c=1.5, timeout_s=5)
        ctl.set_heater(None)


def test_board_reset_mid_command_is_recovered(board: PtyFirmware) -> None:
    """The board resets while answering: the host ignores the boot noise, sees the hello,
    restores the LED and heater it had asked for, and sends the command again."""
    with SerialReaderController(_config(board.path, retries=1)) as ctl:
        ctl.set_led(0.75)
        ctl.set_heater(35.0)
        board.reset_on_op = "status"
        status = ctl.status()
        assert board.boots == 2
        assert ctl.resets == 1
        assert ctl.info.boot == "b00t0002"
        assert status.led == 0.75, "the LED level was restored after the reset"
        assert status.setpoint_c == 35.0, "the heater set-point was restored after the reset"
        assert ctl.noise_lines >= 5, "banner, traceback and garbage lines were skipped"


def test_board_reset_with_no_retry_left_is_a_clear_error(board: PtyFirmware) -> None:
    from device_drivers.errors import ReaderReset

    with SerialReaderController(_config(board.path, retries=0)) as ctl:
        board.reset_on_op = "led"
        with pytest.raises(ReaderReset, match="reset while 'led' was in flight"):
            ctl.set_led(0.5)
        assert ctl.resets == 1
        ctl.set_led(0.5)  # the line is usable again at once
        assert ctl.status().led == 0.5


def test_garbage_on_the_line_is_skipped(board: PtyFirmware) -> None:
    import os

    with SerialReaderController(_config(board.path)) as ctl:
        os.write(board.master, b"\x00\xff\xfe#!garbage\r\n{\"half\":\nMPY: soft reboot\r\n")
        assert ctl.status().tray in {"in", "out", "unknown"}
        assert ctl.noise_lines >= 3
        # and garbage the other way: the board reports it and keeps answering
        ctl._write(b"\xff\xfegarbage\n")
        assert ctl.hello().board == "rev_a"


def test_reset_op_reboots_the_board(board: PtyFirmware) -> None:
    with SerialReaderController(_config(board.path)) as ctl:
        first = ctl.info.boot
        ctl._command("reset")
        assert ctl.hello().boot != first
        assert board.boots == 2
        assert b"\x03" not in board.wire
