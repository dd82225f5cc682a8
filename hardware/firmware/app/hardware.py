# Build the drivers from a board module's pin table, with the board's machine module.
from app.drivers.cassette import CassetteSensor
from app.drivers.heater import Heater
from app.drivers.pwm_out import PwmOutput
from app.drivers.thermistor import Thermistor
from app.drivers.tray import Tray

# Which mode each signal must have in a board's table.
SIGNALS = {
    "led_pwm": "out-pwm",
    "heater_pwm": "out-pwm",
    "thermistor_adc": "adc",
    "tray_in1": "out",
    "tray_in2": "out",
    "tray_closed": "in-pullup",
    "tray_open": "in-pullup",
    "cassette": "in-pullup",
    "status_led": "out",
}


def pin_table(board):
    """Check a board's pin table and return {signal: gpio}."""
    table = {}
    used = {}
    for signal, gpio, mode, _ in board.PINS:
        if signal not in SIGNALS:
            raise ValueError("unknown signal %s" % signal)
        if SIGNALS[signal] != mode:
            raise ValueError("%s must be %s, not %s" % (signal, SIGNALS[signal], mode))
        if gpio in used:
            raise ValueError("GPIO %d used by %s and %s" % (gpio, used[gpio], signal))
        used[gpio] = signal
        table[signal] = gpio
    for signal in SIGNALS:
        if signal not in table:
            raise ValueError("no pin for %s" % signal)
    return table


def build(machine, board, clock):
    gpio = pin_table(board)
    Pin = machine.Pin

    def out(name):
        return Pin(gpio[name], Pin.OUT, value=0)

    def pulled_up(name):
        return Pin(gpio[name], Pin.IN, Pin.PULL_UP)

    thermistor = Thermistor(
        machine.ADC(Pin(gpio["thermistor_adc"])),
        board.THERMISTOR_R_FIXED, board.THERMISTOR_R25, board.THERMISTOR_BETA)
    heater_out = PwmOutput(machine.PWM(out("heater_pwm")), board.HEATER_PWM_HZ)
    return {
        "led": PwmOutput(machine.PWM(out("led_pwm")), board.LED_PWM_HZ),
        "heater": Heater(heater_out, thermistor, board.HEATER_MAX_SETPOINT_C,
                         board.HEATER_CUTOFF_C, board.HEATER_GAIN_PER_C),
        "tray": Tray(out("tray_in1"), out("tray_in2"), pulled_up("tray_closed"),
                     pulled_up("tray_open"), clock, board.TRAY_TIMEOUT_MS),
        "cassette": CassetteSensor(pulled_up("cassette"), clock, board.CASSETTE_DEBOUNCE_MS),
        "status_led": out("status_led"),
    }
