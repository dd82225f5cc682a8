# A simulated `machine` module for the MicroPython unix port: the reader controller board's
# pins, PWM, ADC and watchdog, backed by a model of the physical world around them (tray
# mechanics, thermistor, cassette sensor). The firmware imports it as `machine` when sim/ comes
# first on sys.path (a .py file shadows the unix port's own small machine module).
#
# Written for MicroPython (it runs under the real `micropython` binary): time.ticks_ms for
# time, no threads. Outputs are recorded; inputs follow the model, which tests drive in-process
# (tests/hardware/upy/) or through sim/board.py's probe channel. Every pin access first calls
# the model's `hook` (board.py's probe service), so the probe is answered while the firmware
# runs its main loop.
import math
import time

PWRON_RESET = 1
WDT_RESET = 3

RESET_CAUSES = {"power_on": PWRON_RESET, "watchdog": WDT_RESET}


class BoardReset(BaseException):
    """Raised by reset(): sim/board.py (or a test) catches it and boots the firmware again.
    Not an Exception, so main.py's crash handler does not catch it, as on a board where
    machine.reset() never returns."""


class BoardModel:
    """The physical world around the pins: levels the firmware writes, levels it reads."""

    def __init__(self, board_module):
        self.gpio = {}
        self.signal = {}
        for signal, gpio, _, _ in board_module.PINS:
            self.gpio[signal] = gpio
            self.signal[gpio] = signal
        self.board = board_module
        self.outputs = {}
        self.duty = {}
        self.freq = {}
        self.pulls = {}
        self.temp_c = 25.0
        self.ambient_c = 25.0
        self.heat_rate_c_per_s = 0.0  # 0: the temperature stays where the test put it
        self.thermistor_raw = None  # force a raw ADC value (open or shorted sensor)
        self.cassette = False
        self.tray = 0.0  # 0 = fully out, 1 = fully in
        self.tray_travel_s = 0.15
        self.tray_jammed = False
        self.wdt_timeout_ms = None
        self.wdt_feeds = 0
        self.reset_cause = PWRON_RESET
        self.hook = None  # called before every pin access (the probe service)
        self._last = time.ticks_ms()

    def set_tray(self, pos):
        if pos not in ("in", "out"):
            raise ValueError("tray must be 'in' or 'out'")
        self.tray = 1.0 if pos == "in" else 0.0

    def setup(self, state):
        """Set the physical state a protocol vector asks for (hardware/PROTOCOL.md, 'board')."""
        for key in state:
            value = state[key]
            if key == "tray":
                self.set_tray(value)
            elif key == "reset_cause":
                self.reset_cause = RESET_CAUSES[value]
            elif key in ("temp_c", "cassette", "thermistor_raw", "tray_jammed",
                         "heat_rate_c_per_s", "tray_travel_s"):
                setattr(self, key, value)
            else:
                raise KeyError("unknown board setup key %r" % key)

    def level(self, signal):
        return self.outputs.get(self.gpio[signal], 0)

    def duty_of(self, signal):
        return self.duty.get(self.gpio[signal], 0) / 65535

    def advance(self):
        """Let the world move on to now (the tray travels, the pad heats), then run the hook."""
        if self.hook is not None:
            self.hook()
        now = time.ticks_ms()
        dt = time.ticks_diff(now, self._last) / 1000
        self._last = now
        direction = self.level("tray_in1") - self.level("tray_in2")
        if direction and not self.tray_jammed:
            self.tray = min(1.0, max(0.0, self.tray + direction * dt / self.tray_travel_s))
        if self.heat_rate_c_per_s:
            heat = self.duty_of("heater_pwm") * self.heat_rate_c_per_s
            self.temp_c += (heat - (self.temp_c - self.ambient_c) * 0.05) * dt

    def read_input(self, gpio):
        self.advance()
        if gpio == self.gpio["tray_closed"]:
            return 0 if self.tray >= 1.0 else 1
        if gpio == self.gpio["tray_open"]:
            return 0 if self.tray <= 0.0 else 1
        if gpio == self.gpio["cassette"]:
            return 0 if self.cassette else 1
        return self.outputs.get(gpio, 1)

    def read_adc(self):
        self.advance()
        if self.thermistor_raw is not None:
            return self.thermistor_raw
        b = self.board
        kelvin = self.temp_c + 273.15
        r = b.THERMISTOR_R25 * math.exp(b.THERMISTOR_BETA * (1 / kelvin - 1 / 298.15))
        return round(65535 * r / (r + b.THERMISTOR_R_FIXED))

    def snapshot(self):
        """What the outputs are doing, by signal name (for the probe and the tests)."""
        outputs = {}
        for gpio in self.outputs:
            outputs[self.signal.get(gpio, str(gpio))] = self.outputs[gpio]
        duty = {}
        for gpio in self.duty:
            duty[self.signal.get(gpio, str(gpio))] = self.duty[gpio] / 65535
        return {"outputs": outputs, "duty": duty, "tray": self.tray, "temp_c": self.temp_c,
                "wdt_timeout_ms": self.wdt_timeout_ms, "wdt_feeds": self.wdt_feeds}


_board = None


def use_board(model):
    global _board
    _board = model


def _model():
    if _board is None:
        raise RuntimeError("simulated machine: no BoardModel in use")
    return _board


class Pin:
    IN = 0
    OUT = 1
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, gpio, mode=-1, pull=-1, value=None):
        self.gpio = gpio
        self.mode = mode
        if pull != -1:
            _model().pulls[gpio] = pull
        if value is not None:
            self.value(value)

    def value(self, level=None):
        model = _model()
        if level is None:
            return model.read_input(self.gpio)
        model.advance()
        model.outputs[self.gpio] = 1 if level else 0
        return None


class PWM:
    def __init__(self, pin):
        self.gpio = pin.gpio

    def freq(self, hz):
        _model().freq[self.gpio] = hz

    def duty_u16(self, duty):
        if not 0 <= duty <= 65535:
            raise ValueError("duty out of range")
        model = _model()
        model.advance()
        model.duty[self.gpio] = duty


class ADC:
    def __init__(self, pin):
        self.gpio = pin.gpio

    def read_u16(self):
        return _model().read_adc()


class WDT:
    def __init__(self, id=0, timeout=5000):
        if timeout > 8388:
            raise ValueError("RP2040 watchdog timeout is at most 8388 ms")
        _model().wdt_timeout_ms = timeout

    def feed(self):
        _model().wdt_feeds += 1


def reset():
    raise BoardReset()


def reset_cause():
    return _model().reset_cause


def unique_id():
    return b"\xe6\x61\x38\x52\x83\x3a\x2f\x2a"
