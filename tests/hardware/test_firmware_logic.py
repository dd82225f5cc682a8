"""The firmware's behaviour over time, under CPython with the stub machine: tray moves and
jams, cassette events, heater control and its cut-offs, the lazy watchdog, and the rule that
no 0x03 byte ever leaves the board."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hardware.firmware_harness import ScriptedFirmware


def _run_until(fw: ScriptedFirmware, predicate: Callable[[dict], bool],
               timeout_s: float = 2.0) -> list[dict]:
    """Poll the main loop (no input) until an event satisfies ``predicate``."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen += fw.exchange(b"", polls=5)
        if any(predicate(m) for m in seen):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"no matching event; saw {seen}")


def _ask(fw: ScriptedFirmware, line: str) -> dict:
    answers = fw.exchange(line.encode() + b"\n", polls=0)
    return next(a for a in answers if "id" in a)


def test_tray_moves_in_and_reports_arrival() -> None:
    fw = ScriptedFirmware(setup={"tray": "out"})
    try:
        assert _ask(fw, '{"id":1,"op":"tray","pos":"in"}')["tray"] == "moving"
        assert fw.model.level("tray_in1") == 1 and fw.model.level("tray_in2") == 0
        events = _run_until(fw, lambda m: m.get("event") == "tray")
        assert {"event": "tray", "pos": "in"} in events
        assert fw.model.level("tray_in1") == 0, "motor must stop at the limit switch"
        assert _ask(fw, '{"id":2,"op":"status"}')["tray"] == "in"
    finally:
        fw.close()


def test_tray_jam_is_a_latched_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    fw = ScriptedFirmware(setup={"tray": "out", "tray_jammed": True})
    try:
        fw.reader.hw["tray"]._timeout_ms = 100
        _ask(fw, '{"id":1,"op":"tray","pos":"in"}')
        events = _run_until(fw, lambda m: m.get("code") == "tray_jammed")
        assert fw.model.level("tray_in1") == 0, "motor must stop after a jam"
        assert any(m.get("event") == "fault" for m in events)
        status = _ask(fw, '{"id":2,"op":"status"}')
        assert status["tray"] == "jammed" and status["faults"] == ["tray_jammed"]
        assert _ask(fw, '{"id":3,"op":"clear"}')["faults"] == []
    finally:
        fw.close()


def test_cassette_insertion_is_debounced_then_reported() -> None:
    fw = ScriptedFirmware()
    try:
        fw.model.cassette = True
        assert fw.exchange(b"", polls=1) == [], "a single reading must not count"
        events = _run_until(fw, lambda m: m.get("event") == "cassette")
        assert {"event": "cassette", "present": True} in events
        assert _ask(fw, '{"id":1,"op":"status"}')["cassette"] is True
    finally:
        fw.close()


def test_heater_drives_power_toward_the_setpoint() -> None:
    fw = ScriptedFirmware(setup={"temp_c": 34.0})
    try:
        _ask(fw, '{"id":1,"op":"heater","setpoint":37.0}')
        fw.reader._last_heater -= 1000  # the control loop runs on its next poll
        fw.exchange(b"", polls=1)
        duty = fw.model.duty_of("heater_pwm")
        assert duty == pytest.approx((37.0 - 34.0) * fw.board.HEATER_GAIN_PER_C, abs=0.01)
        fw.model.temp_c = 20.0
        fw.reader._last_heater -= 1000
        fw.exchange(b"", polls=1)
        assert fw.model.duty_of("heater_pwm") == 1.0, "full power far below the set-point"
        fw.model.temp_c = 40.0
        fw.reader._last_heater -= 1000
        fw.exchange(b"", polls=1)
        assert fw.model.duty_of("heater_pwm") == 0.0
    finally:
        fw.close()


def test_overtemperature_cuts_the_heater_and_locks_it() -> None:
    fw = ScriptedFirmware(setup={"temp_c": 30.0})
    try:
        _ask(fw, '{"id":1,"op":"heater","setpoint":50.0}')
        fw.model.temp_c = 75.0
        fw.reader._last_heater -= 1000
        events = fw.exchange(b"", polls=1)
        assert any(m.get("code") == "heater_overtemp" for m in events)
        assert fw.model.duty_of("heater_pwm") == 0.0
        refused = _ask(fw, '{"id":2,"op":"heater","setpoint":40.0}')
        assert refused["ok"] is False and refused["error"] == "heater_overtemp"
    finally:
        fw.close()


def test_thermistor_failure_while_heating_turns_the_heater_off() -> None:
    fw = ScriptedFirmware(setup={"temp_c": 30.0})
    try:
        _ask(fw, '{"id":1,"op":"heater","setpoint":37.0}')
        fw.model.thermistor_raw = 0  # shorted
        fw.reader._last_heater -= 1000
        events = fw.exchange(b"", polls=1)
        assert any(m.get("code") == "thermistor_fault" for m in events)
        assert fw.model.duty_of("heater_pwm") == 0.0
        assert _ask(fw, '{"id":2,"op":"status"}')["setpoint"] is None
    finally:
        fw.close()


def test_heater_goes_off_when_the_host_falls_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    import app.controller

    monkeypatch.setattr(app.controller, "HOST_SILENT_MS", 20)
    fw = ScriptedFirmware(setup={"temp_c": 30.0})
    try:
        _ask(fw, '{"id":1,"op":"heater","setpoint":37.0}')
        events = _run_until(fw, lambda m: m.get("code") == "host_silent")
        assert fw.reader.hw["heater"].setpoint is None
        assert any(m.get("event") == "fault" for m in events)
    finally:
        fw.close()


def test_watchdog_is_armed_only_by_an_actuator_and_then_fed() -> None:
    fw = ScriptedFirmware()
    try:
        _ask(fw, '{"id":1,"op":"status"}')
        _ask(fw, '{"id":2,"op":"led","level":1}')
        assert fw.model.wdt_timeout_ms is None, "no watchdog before an actuator runs"
        _ask(fw, '{"id":3,"op":"heater","setpoint":30.0}')
        assert fw.model.wdt_timeout_ms == 8000
        before = fw.model.wdt_feeds
        fw.exchange(b"", polls=3)
        assert fw.model.wdt_feeds > before
    finally:
        fw.close()


def test_boot_line_is_a_hello_event_with_the_reset_cause() -> None:
    fw = ScriptedFirmware()
    try:
        fw.model.reset_cause = fw.machine.WDT_RESET
        fw.boot("cafe0001")
        assert fw.hello["event"] == "hello" and fw.hello["reset_cause"] == "watchdog"
        assert fw.hello["boot"] == "cafe0001"
    finally:
        fw.close()


def test_non_utf8_line_is_reported_not_fatal(firmware: ScriptedFirmware) -> None:
    answers = firmware.exchange(b"\xff\xfe\xfd\n" + b'{"id":4,"op":"hello"}\n', polls=0)
    assert answers[0] == {"event": "error", "code": "bad_line", "detail": "not UTF-8"}
    assert answers[1]["id"] == 4 and answers[1]["ok"] is True


def test_a_request_split_across_reads_is_reassembled(firmware: ScriptedFirmware) -> None:
    assert firmware.exchange(b'{"id":5,"op":', polls=0) == []
    [answer] = firmware.exchange(b'"hello"}\r\n', polls=0)
    assert answer["id"] == 5


def test_encoder_escapes_a_raw_ctrl_c() -> None:
    from app.protocol import encode

    data = encode({"detail": "a\x03b"})
    assert b"\x03" not in data
    assert json.loads(data) == {"detail": "a\x03b"}


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=60).map(
    lambda t: json.dumps({"id": 1, "op": t, "level": t}).encode()))
def test_no_ctrl_c_ever_leaves_the_board(data: bytes) -> None:
    fw = ScriptedFirmware()
    try:
        fw.exchange(data + b"\n", polls=1)
        assert b"\x03" not in fw.wire
    finally:
        fw.close()
