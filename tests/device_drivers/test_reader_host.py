"""The host driver's handling of a misbehaving line (scripted port), of a missing board, and
the simulated reader controller."""

from __future__ import annotations

import json
from typing import Any

import pytest
import serial

from device_drivers.config import ReaderConfig
from device_drivers.errors import (
    DeviceAbsent,
    DeviceTimeout,
    ProtocolMismatch,
    ReaderError,
    ReaderReset,
)
from device_drivers.reader import SerialReaderController, SimulatedReaderController
from tests.device_drivers.fake_serial import FakeSerial

HELLO = {"fw": "1.0.0", "proto": 1, "board": "rev_a", "boot": "aaaa0001"}


def _reply(line: bytes, **fields: Any) -> bytes:
    req = json.loads(line)
    return (json.dumps({"id": req["id"], "ok": True, **fields}) + "\n").encode()


def _board(handler: Any) -> tuple[SerialReaderController, list[FakeSerial]]:
    ports: list[FakeSerial] = []

    def factory(*args: Any, **kwargs: Any) -> FakeSerial:
        ports.append(FakeSerial(handler))
        return ports[-1]

    config = ReaderConfig(backend="serial", port="fake://", timeout_s=0.2, retries=1,
                          handshake_timeout_s=0.3, reconnect_s=0.5)
    return SerialReaderController(config, serial_factory=factory), ports


def test_late_reply_is_never_taken_for_another_request() -> None:
    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        # an answer to an earlier request arrives first, with other values
        stale = json.dumps({"id": req["id"] - 1, "ok": True, "led": 0.9}).encode() + b"\n"
        return stale + _reply(line, led=0.3)

    ctl, _ = _board(handler)
    with ctl:
        ctl.set_led(0.3)
        assert ctl.late_replies == 1


def test_timeout_is_retried_then_reported_clearly() -> None:
    calls: list[str] = []

    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        calls.append(req["op"])
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        if calls.count("status") == 1:
            return b""  # the first status is lost
        return _reply(line, led=0.0, tray="in", cassette=False, temp=25.0, setpoint=None,
                      heating=False, faults=[])

    ctl, _ = _board(handler)
    with ctl:
        assert ctl.status().tray == "in"
        assert calls.count("status") == 2


def test_silent_board_gives_a_timeout_with_a_fix() -> None:
    ctl, _ = _board(lambda line: b"")
    with pytest.raises(DeviceTimeout) as caught:
        ctl.open()
    assert "did not answer 'hello'" in str(caught.value)
    assert "nongan firmware deploy" in caught.value.fix


def test_loop_url_echo_is_not_an_answer() -> None:
    """pyserial's loop:// echoes the request back: the host must not take it as a reply."""
    ctl = SerialReaderController(ReaderConfig(backend="serial", port="loop://", timeout_s=0.2,
                                              handshake_timeout_s=0.2, retries=0))
    with pytest.raises(DeviceTimeout):
        ctl.open()


def test_missing_port_is_absent_not_simulated() -> None:
    ctl = SerialReaderController(ReaderConfig(backend="serial", port="/dev/ttyACM97"))
    with pytest.raises(DeviceAbsent) as caught:
        ctl.open()
    assert "/dev/ttyACM97" in str(caught.value) and "USB cable" in caught.value.fix
    health = ctl.health()
    assert health.state == "absent" and "USB cable" in health.fix


def test_protocol_mismatch_says_to_deploy() -> None:
    ctl, _ = _board(lambda line: _reply(line, **{**HELLO, "proto": 2}))
    with pytest.raises(ProtocolMismatch) as caught:
        ctl.open()
    assert "nongan firmware deploy" in caught.value.fix
    assert not ctl.is_open


def test_vanished_port_is_reopened_and_the_reset_recovered() -> None:
    boots = iter(["aaaa0001", "bbbb0002"])
    boot = {"id": next(boots)}

    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **{**HELLO, "boot": boot["id"]})
        return _reply(line, led=req.get("level", 0.0))

    ctl, ports = _board(handler)
    with ctl:
        ctl.set_led(0.4)

        def unplugged(data: bytes) -> int:
            boot["id"] = next(boots)
            raise serial.SerialException("device reports readiness to read but returned no data")

        ports[0].write = unplugged  # type: ignore[method-assign]
        ctl.set_led(0.6)
        assert len(ports) == 2, "the port was reopened"
        assert ctl.resets == 1
        sent = [json.loads(w) for w in ports[1].written]
        assert [m["op"] for m in sent] == ["hello", "led", "led"]
        assert sent[1]["level"] == 0.6


def test_port_that_stays_away_leaves_the_reader_closed_and_health_reopens_it() -> None:
    plugged = {"yes": True}
    ports: list[FakeSerial] = []

    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        return _reply(line, led=0.0, tray="in", cassette=False, temp=25.0, setpoint=None,
                      heating=False, faults=[])

    def factory(*args: Any, **kwargs: Any) -> FakeSerial:
        if not plugged["yes"]:
            raise serial.SerialException("could not open port: no such device")
        ports.append(FakeSerial(handler))
        return ports[-1]

    config = ReaderConfig(backend="serial", port="fake://", timeout_s=0.2, retries=1,
                          handshake_timeout_s=0.3, reconnect_s=0.2)
    ctl = SerialReaderController(config, serial_factory=factory)
    ctl.open()

    def unplugged(data: bytes) -> int:
        plugged["yes"] = False
        raise serial.SerialException("device disconnected")

    ports[0].write = unplugged  # type: ignore[method-assign]
    with pytest.raises(DeviceAbsent):
        ctl.status()
    assert not ctl.is_open, "a port that stayed away must leave the reader closed"
    assert ctl.health().state == "absent"

    plugged["yes"] = True  # the cable is back
    health = ctl.health()
    assert health.ok, health
    ctl.open()
    assert ctl.status().tray == "in"
    ctl.close()


def test_port_lost_again_during_the_reconnect_hello_is_a_device_error() -> None:
    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        return _reply(line, led=req.get("level", 0.0))

    ports: list[FakeSerial] = []

    def flaky(line: bytes) -> bytes:
        raise serial.SerialException("device disconnected again")

    def factory(*args: Any, **kwargs: Any) -> FakeSerial:
        ports.append(FakeSerial(handler if not ports else flaky))
        return ports[-1]

    config = ReaderConfig(backend="serial", port="fake://", timeout_s=0.2, retries=1,
                          handshake_timeout_s=0.3, reconnect_s=0.5)
    ctl = SerialReaderController(config, serial_factory=factory)
    with ctl:
        ports[0].write = flaky  # type: ignore[assignment, method-assign]
        with pytest.raises(ReaderReset) as caught:
            ctl.set_led(0.5)
        assert "USB cable" in caught.value.fix
        assert len(ports) == 2


def test_board_error_carries_code_and_fix() -> None:
    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        return (json.dumps({"id": req["id"], "ok": False, "error": "tray_jammed",
                            "detail": "stuck"}) + "\n").encode()

    ctl, _ = _board(handler)
    with ctl, pytest.raises(ReaderError) as caught:
        ctl.move_tray("in")
    assert caught.value.code == "tray_jammed"
    assert "free the tray" in str(caught.value)


def test_host_checks_arguments_before_sending() -> None:
    ctl, ports = _board(lambda line: _reply(line, **HELLO))
    with ctl:
        with pytest.raises(ValueError):
            ctl.set_led(1.5)
        with pytest.raises(ValueError):
            ctl.set_heater(90)
        with pytest.raises(ValueError):
            ctl.move_tray("up")
        assert len(ports[0].written) == 1  # only the handshake


# -- simulated ---------------------------------------------------------------------------------


@pytest.fixture
def sim() -> SimulatedReaderController:
    return SimulatedReaderController(ReaderConfig(backend="simulated"), tray_travel_s=0.05)


def test_simulated_reader_is_driven_from_tests(sim: SimulatedReaderController) -> None:
    with sim:
        assert sim.health().state == "simulated"
        assert not sim.wait_for_cassette(timeout_s=0.1)
        sim.insert_cassette()
        assert sim.wait_for_cassette(timeout_s=1)
        sim.close_tray(timeout_s=1)
        assert sim.tray == "in"
        sim.set_heater(37.0)
        assert sim.wait_for_temperature(37.0, timeout_s=3)


def test_simulated_failures(sim: SimulatedReaderController) -> None:
    with sim:
        sim.fail_next("led", code="heater_overtemp")
        with pytest.raises(ReaderError) as caught:
            sim.set_led(0.5)
        assert caught.value.code == "heater_overtemp"
        sim.set_led(0.5)  # only the next one fails
        sim.jam_tray()
        with pytest.raises(ReaderError, match="tray jammed"):
            sim.close_tray(timeout_s=1)
        assert sim.health().state == "fault"
        sim.jam_tray(False)
        sim.clear_faults()
        sim.hang(2)
        with pytest.raises(DeviceTimeout):
            sim.status()


def test_simulated_reset_restores_state(sim: SimulatedReaderController) -> None:
    with sim:
        sim.set_led(0.8)
        sim.reset_board()
        assert sim.status().led == 0.8
        assert sim.resets == 1


def test_simulated_reset_on_the_last_attempt_is_a_reset_as_on_the_serial_board(
        sim: SimulatedReaderController) -> None:
    # Every attempt but the last unanswered, then the board resets: the caller learns of a
    # reset (what the serial backend raises), not of a timeout, and the state is restored.
    with sim:
        sim.set_led(0.8)
        sim.hang(sim.config.retries)
        sim.reset_board()
        with pytest.raises(ReaderReset, match="reset"):
            sim.status()
        assert sim.resets == 1
        assert sim.status().led == 0.8


# -- garbled fields ----------------------------------------------------------------------------


@pytest.mark.parametrize("proto", ["1.0", None, "one", [1]])
def test_unreadable_protocol_version_is_a_protocol_mismatch(proto: Any) -> None:
    ctl, _ = _board(lambda line: _reply(line, **{**HELLO, "proto": proto}))
    with pytest.raises(ProtocolMismatch) as caught:
        ctl.open()
    assert "nongan firmware deploy" in caught.value.fix
    assert not ctl.is_open


@pytest.mark.parametrize("bad", [{"led": None}, {"led": "bright"}, {"temp": "warm"},
                                 {"setpoint": [37]}, {"faults": "tray_jammed"},
                                 {"faults": None}, {"faults": [1, 2]}])
def test_unreadable_status_is_a_protocol_mismatch(bad: dict[str, Any]) -> None:
    status = {"led": 0.0, "tray": "in", "cassette": False, "temp": 25.0, "setpoint": None,
              "heating": False, "faults": [], **bad}

    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        return _reply(line, **status)

    ctl, _ = _board(handler)
    with ctl:
        with pytest.raises(ProtocolMismatch) as caught:
            ctl.status()
        assert "nongan firmware deploy" in caught.value.fix
        health = ctl.health()
        assert health.state == "fault" and "nongan firmware deploy" in health.fix


def test_status_faults_list_is_kept() -> None:
    def handler(line: bytes) -> bytes:
        req = json.loads(line)
        if req["op"] == "hello":
            return _reply(line, **HELLO)
        return _reply(line, led=0.5, tray="jammed", cassette=True, temp=None, setpoint=None,
                      heating=False, faults=["tray_jammed", "thermistor_fault"])

    ctl, _ = _board(handler)
    with ctl:
        status = ctl.status()
        assert status.faults == ("tray_jammed", "thermistor_fault")
        assert status.temperature_c is None and status.led == 0.5
