# The reader controller application. main() is called by main.py on the board; the pieces it
# wires (board pin table, drivers, controller, loop) are importable on the host for tests.
from app.version import PROTOCOL, VERSION  # noqa: F401

DEFAULT_BOARD = "rev_a"
RESET_CAUSES = (("PWRON_RESET", "power_on"), ("WDT_RESET", "watchdog"),
                ("HARD_RESET", "hard"), ("SOFT_RESET", "soft"), ("DEEPSLEEP_RESET", "deepsleep"))


def board_name():
    """The board revision named in board.txt (written by `nongan firmware deploy`)."""
    try:
        with open("board.txt") as handle:
            name = handle.read().strip()
    except OSError:
        return DEFAULT_BOARD
    return name or DEFAULT_BOARD


def load_board(name):
    module = __import__("boards." + name, None, None, [name])
    return module


def reset_cause(machine):
    try:
        cause = machine.reset_cause()
    except Exception:
        return "unknown"
    for attr, label in RESET_CAUSES:
        if getattr(machine, attr, None) == cause:
            return label
    return "unknown"


def make_reader(machine, board, clock, boot_id):
    from app.controller import Reader
    from app.hardware import build
    from app.watchdog import Watchdog

    hw = build(machine, board, clock)
    return Reader(board, hw, clock, Watchdog(machine), boot_id, reset_cause(machine))


def main():
    import random
    import time

    import machine

    from app.clock import Clock
    from app.loop import serve
    from app.usb import UsbPort

    board = load_board(board_name())
    reader = make_reader(machine, board, Clock(), "%08x" % random.getrandbits(32))
    if serve(UsbPort(), reader):
        time.sleep_ms(50)  # let the reply leave the USB buffer
        machine.reset()
