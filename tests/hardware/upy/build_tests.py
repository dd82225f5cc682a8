"""The firmware's board files and main.py on the MicroPython VM: every board's pin table is
complete and consistent, and main.py turns a crash into a printed traceback and a reset while
letting Ctrl-C through to the REPL. MicroPython code (run by run.py)."""

import io
import os
import sys

import machine
from harness import FIRMWARE_DIR


def _main_py():
    with open(FIRMWARE_DIR + "/main.py") as handle:
        return handle.read()


class _Swapped:
    """Put stand-in modules in sys.modules for the ``with`` (main.py imports inside itself)."""

    def __init__(self, **modules):
        self.modules = modules
        self.saved = {}

    def __enter__(self):
        for name in self.modules:
            self.saved[name] = sys.modules.get(name)
            sys.modules[name] = self.modules[name]
        return self

    def __exit__(self, *exc):
        for name in self.modules:
            if self.saved[name] is None:
                del sys.modules[name]
            else:
                sys.modules[name] = self.saved[name]


class _Namespace:
    pass


def test_every_board_file_has_a_complete_consistent_pin_table():
    import app
    from app.hardware import SIGNALS, pin_table

    boards = sorted(f[:-3] for f in os.listdir(FIRMWARE_DIR + "/boards")
                    if f.startswith("rev_") and f.endswith(".py"))
    assert boards, "no board files"
    for name in boards:
        table = pin_table(app.load_board(name))
        assert sorted(table) == sorted(SIGNALS), name


def test_pin_table_check_refuses_a_doubly_used_gpio():
    from app.hardware import pin_table

    class Bad:
        PINS = (("led_pwm", 15, "out-pwm", ""), ("heater_pwm", 15, "out-pwm", ""))

    try:
        pin_table(Bad)
    except ValueError as exc:
        assert str(exc) == "GPIO 15 used by led_pwm and heater_pwm", str(exc)
    else:
        raise AssertionError("a doubly used GPIO was accepted")


def test_main_prints_the_exception_and_resets():
    """A crash in the application ends in a printed traceback (MicroPython's own
    sys.print_exception) and a reset, not a dead board."""
    printed = io.StringIO()
    slept = []
    crashing = _Namespace()

    def main():
        raise RuntimeError("sensor bus stuck")

    crashing.main = main
    fake_sys = _Namespace()
    fake_sys.print_exception = lambda exc: sys.print_exception(exc, printed)
    fake_time = _Namespace()
    fake_time.sleep = slept.append
    with _Swapped(app=crashing, sys=fake_sys, time=fake_time):
        try:
            exec(_main_py(), {"__name__": "__main__"})
        except machine.BoardReset:
            pass
        else:
            raise AssertionError("main.py did not reset the board after a crash")
    text = printed.getvalue()
    assert "RuntimeError: sensor bus stuck" in text, text
    assert slept == [2], slept


def test_main_lets_ctrl_c_through_to_the_repl():
    """mpremote interrupts with Ctrl-C; main.py must not swallow it (or reset the board)."""
    interrupted = _Namespace()

    def main():
        raise KeyboardInterrupt

    interrupted.main = main
    with _Swapped(app=interrupted):
        try:
            exec(_main_py(), {"__name__": "__main__"})
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("main.py swallowed KeyboardInterrupt")
