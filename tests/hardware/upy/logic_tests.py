"""The firmware's behaviour over time, on the MicroPython VM with the simulated machine: tray
moves and jams, cassette events, heater control and its cut-offs, the lazy watchdog, the host
silence cut-off, line framing, and the rule that no 0x03 byte ever leaves the board.
MicroPython code (run by run.py); each test_* is one pytest test in test_firmware_logic.py."""

import json
import time

from harness import ScriptedFirmware

WAIT_MS = 10000  # generous: the machine running the tests may be loaded


def _run_until(fw, predicate, timeout_ms=WAIT_MS):
    """Poll the main loop (no input) until an event satisfies ``predicate``."""
    seen = []
    started = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), started) < timeout_ms:
        seen += fw.exchange(b"", 5)
        for m in seen:
            if predicate(m):
                return seen
        time.sleep_ms(10)
    raise AssertionError("no matching event; saw %r" % seen)


def _heater_loop_runs_now(fw):
    """Make the heater's control loop run on the next poll (it runs every 250 ms)."""
    fw.reader._last_heater = time.ticks_add(fw.reader._last_heater, -1000)


def test_tray_moves_in_and_reports_arrival():
    with ScriptedFirmware({"tray": "out"}) as fw:
        assert fw.ask('{"id":1,"op":"tray","pos":"in"}')["tray"] == "moving"
        assert fw.model.level("tray_in1") == 1 and fw.model.level("tray_in2") == 0
        events = _run_until(fw, lambda m: m.get("event") == "tray")
        assert {"event": "tray", "pos": "in"} in events
        assert fw.model.level("tray_in1") == 0, "motor must stop at the limit switch"
        assert fw.ask('{"id":2,"op":"status"}')["tray"] == "in"


def test_tray_jam_is_a_latched_fault():
    with ScriptedFirmware({"tray": "out", "tray_jammed": True}) as fw:
        fw.reader.hw["tray"]._timeout_ms = 100
        fw.ask('{"id":1,"op":"tray","pos":"in"}')
        events = _run_until(fw, lambda m: m.get("code") == "tray_jammed")
        assert fw.model.level("tray_in1") == 0, "motor must stop after a jam"
        assert any(m.get("event") == "fault" for m in events)
        status = fw.ask('{"id":2,"op":"status"}')
        assert status["tray"] == "jammed" and status["faults"] == ["tray_jammed"]
        assert fw.ask('{"id":3,"op":"clear"}')["faults"] == []


def test_cassette_insertion_is_debounced_then_reported():
    with ScriptedFirmware() as fw:
        fw.model.cassette = True
        # The first poll that sees the change only starts the debounce, however late it runs.
        assert fw.exchange(b"", 0) == [], "a single reading must not count"
        events = _run_until(fw, lambda m: m.get("event") == "cassette")
        assert {"event": "cassette", "present": True} in events
        assert fw.ask('{"id":1,"op":"status"}')["cassette"] is True


def test_heater_drives_power_toward_the_setpoint():
    with ScriptedFirmware({"temp_c": 34.0}) as fw:
        fw.ask('{"id":1,"op":"heater","setpoint":37.0}')
        _heater_loop_runs_now(fw)
        fw.exchange(b"", 1)
        duty = fw.model.duty_of("heater_pwm")
        expected = (37.0 - 34.0) * fw.board.HEATER_GAIN_PER_C
        assert abs(duty - expected) <= 0.01, (duty, expected)
        fw.model.temp_c = 20.0
        _heater_loop_runs_now(fw)
        fw.exchange(b"", 1)
        assert fw.model.duty_of("heater_pwm") == 1.0, "full power far below the set-point"
        fw.model.temp_c = 40.0
        _heater_loop_runs_now(fw)
        fw.exchange(b"", 1)
        assert fw.model.duty_of("heater_pwm") == 0.0


def test_overtemperature_cuts_the_heater_and_locks_it():
    with ScriptedFirmware({"temp_c": 30.0}) as fw:
        fw.ask('{"id":1,"op":"heater","setpoint":50.0}')
        fw.model.temp_c = 75.0
        _heater_loop_runs_now(fw)
        events = fw.exchange(b"", 1)
        assert any(m.get("code") == "heater_overtemp" for m in events)
        assert fw.model.duty_of("heater_pwm") == 0.0
        refused = fw.ask('{"id":2,"op":"heater","setpoint":40.0}')
        assert refused["ok"] is False and refused["error"] == "heater_overtemp"


def test_thermistor_failure_while_heating_turns_the_heater_off():
    with ScriptedFirmware({"temp_c": 30.0}) as fw:
        fw.ask('{"id":1,"op":"heater","setpoint":37.0}')
        fw.model.thermistor_raw = 0  # shorted
        _heater_loop_runs_now(fw)
        events = fw.exchange(b"", 1)
        assert any(m.get("code") == "thermistor_fault" for m in events)
        assert fw.model.duty_of("heater_pwm") == 0.0
        assert fw.ask('{"id":2,"op":"status"}')["setpoint"] is None


def test_heater_goes_off_when_the_host_falls_silent():
    # HOST_SILENT_MS is a const(): MicroPython folds it into the code, so (unlike CPython)
    # it cannot be patched smaller; the host's last word is moved into the past instead.
    with ScriptedFirmware({"temp_c": 30.0}) as fw:
        fw.ask('{"id":1,"op":"heater","setpoint":37.0}')
        assert not any(m.get("event") == "fault" for m in fw.exchange(b"", 5)), \
            "the heater stays on while the host has spoken recently"
        assert fw.reader.hw["heater"].setpoint == 37.0
        fw.reader._last_host = time.ticks_add(fw.reader._last_host, -61000)
        events = _run_until(fw, lambda m: m.get("code") == "host_silent")
        assert fw.reader.hw["heater"].setpoint is None
        assert any(m.get("event") == "fault" for m in events)


def test_watchdog_is_armed_only_by_an_actuator_and_then_fed():
    with ScriptedFirmware() as fw:
        fw.ask('{"id":1,"op":"status"}')
        fw.ask('{"id":2,"op":"led","level":1}')
        assert fw.model.wdt_timeout_ms is None, "no watchdog before an actuator runs"
        fw.ask('{"id":3,"op":"heater","setpoint":30.0}')
        assert fw.model.wdt_timeout_ms == 8000
        before = fw.model.wdt_feeds
        fw.exchange(b"", 3)
        assert fw.model.wdt_feeds > before


def test_boot_line_is_a_hello_event_with_the_reset_cause():
    with ScriptedFirmware() as fw:
        fw.model.reset_cause = fw.machine.WDT_RESET
        fw.boot("cafe0001")
        assert fw.hello["event"] == "hello" and fw.hello["reset_cause"] == "watchdog"
        assert fw.hello["boot"] == "cafe0001"


def test_non_utf8_line_is_reported_not_fatal():
    with ScriptedFirmware() as fw:
        answers = fw.exchange(b"\xff\xfe\xfd\n" + b'{"id":4,"op":"hello"}\n', 0)
        assert answers[0] == {"event": "error", "code": "bad_line", "detail": "not UTF-8"}
        assert answers[1]["id"] == 4 and answers[1]["ok"] is True


def test_a_request_split_across_reads_is_reassembled():
    with ScriptedFirmware() as fw:
        assert fw.exchange(b'{"id":5,"op":', 0) == []
        answers = fw.exchange(b'"hello"}\r\n', 0)
        assert len(answers) == 1 and answers[0]["id"] == 5, answers


def test_encoder_escapes_a_raw_ctrl_c():
    from app.protocol import encode

    data = encode({"detail": "a\x03b"})
    assert b"\x03" not in data
    assert json.loads(data.decode()) == {"detail": "a\x03b"}
