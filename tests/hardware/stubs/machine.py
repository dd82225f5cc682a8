"""A stand-in for MicroPython's ``machine`` module, backed by a simulated reader board.

Only for running the firmware's logic under CPython in tests. Outputs are recorded, inputs are
driven by :class:`BoardModel` (the tray mechanics, the thermistor, the cassette sensor), which
the harness swaps in with :func:`use_board`.
"""

from __future__ import annotations

import math
import threading
import time

PWRON_RESET = 1
WDT_RESET = 3


class BoardReset(BaseException):
    """Raised by :func:`reset`: the harness catches it and 'reboots' the firmware."""


class BoardModel:
    """The physical world around the pins: levels the firmware writes, levels it reads."""

    def __init__(self, board_module) -> None:
        self.gpio = {signal: gpio for signal, gpio, _, _ in board_module.PINS}
        self.board = board_module
        self.outputs: dict[int, int] = {}
        self.duty: dict[int, int] = {}
        self.freq: dict[int, int] = {}
        self.pulls: dict[int, object] = {}
        self.lock = threading.Lock()
        self.temp_c = 25.0
        self.ambient_c = 25.0
        self.heat_rate_c_per_s = 0.0  # 0: the temperature stays where the test put it
        self.thermistor_raw: int | None = None  # force a raw ADC value (open/short sensor)
        self.cassette = False
        self.tray = 0.0  # 0 = fully out, 1 = fully in
        self.tray_travel_s = 0.15
        self.tray_jammed = False
        self.wdt_timeout_ms: int | None = None
        self.wdt_feeds = 0
        self.reset_cause = PWRON_RESET
        self._last = time.monotonic()

    def set_tray(self, pos: str) -> None:
        self.tray = 1.0 if pos == "in" else 0.0

    def level(self, signal: str) -> int:
        return self.outputs.get(self.gpio[signal], 0)

    def duty_of(self, signal: str) -> float:
        return self.duty.get(self.gpio[signal], 0) / 65535

    def _advance(self) -> None:
        now = time.monotonic()
        dt, self._last = now - self._last, now
        direction = self.level("tray_in1") - self.level("tray_in2")
        if direction and not self.tray_jammed:
            self.tray = min(1.0, max(0.0, self.tray + direction * dt / self.tray_travel_s))
        if self.heat_rate_c_per_s:
            heat = self.duty_of("heater_pwm") * self.heat_rate_c_per_s
            self.temp_c += (heat - (self.temp_c - self.ambient_c) * 0.05) * dt

    def read_input(self, gpio: int) -> int:
        with self.lock:
            self._advance()
            if gpio == self.gpio["tray_closed"]:
                return 0 if self.tray >= 1.0 else 1
            if gpio == self.gpio["tray_open"]:
                return 0 if self.tray <= 0.0 else 1
            if gpio == self.gpio["cassette"]:
                return 0 if self.cassette else 1
            return self.outputs.get(gpio, 1)

    def read_adc(self) -> int:
        with self.lock:
            self._advance()
            if self.thermistor_raw is not None:
                return self.thermistor_raw
            b = self.board
            kelvin = self.temp_c + 273.15
            r = b.THERMISTOR_R25 * math.exp(b.THERMISTOR_BETA * (1 / kelvin - 1 / 298.15))
            return round(65535 * r / (r + b.THERMISTOR_R_FIXED))


_board: BoardModel | None = None


def use_board(model: BoardModel | None) -> None:
    global _board
    _board = model


def _model() -> BoardModel:
    if _board is None:
        raise RuntimeError("stub machine: no BoardModel in use")
    return _board


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, gpio: int, mode: int = -1, pull: int = -1, *, value: int | None = None):
        self.gpio = gpio
        self.mode = mode
        if pull != -1:
            _model().pulls[gpio] = pull
        if value is not None:
            self.value(value)

    def value(self, level: int | None = None) -> int | None:
        model = _model()
        if level is None:
            return model.read_input(self.gpio)
        with model.lock:
            model._advance()
            model.outputs[self.gpio] = 1 if level else 0
        return None


class PWM:
    def __init__(self, pin: Pin) -> None:
        self.gpio = pin.gpio

    def freq(self, hz: int) -> None:
        _model().freq[self.gpio] = hz

    def duty_u16(self, duty: int) -> None:
        if not 0 <= duty <= 65535:
            raise ValueError("duty out of range")
        model = _model()
        with model.lock:
            model._advance()
            model.duty[self.gpio] = duty


class ADC:
    def __init__(self, pin: Pin) -> None:
        self.gpio = pin.gpio

    def read_u16(self) -> int:
        return _model().read_adc()


class WDT:
    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        if timeout > 8388:
            raise ValueError("RP2040 watchdog timeout is at most 8388 ms")
        _model().wdt_timeout_ms = timeout

    def feed(self) -> None:
        _model().wdt_feeds += 1


def reset() -> None:
    raise BoardReset()


def reset_cause() -> int:
    return _model().reset_cause


def unique_id() -> bytes:
    return b"\xe6\x61\x38\x52\x83\x3a\x2f\x2a"
