"""The firmware on the MicroPython VM, in-process: the real main loop with the simulated
``machine`` (hardware/firmware/sim/machine.py) and a scripted port. MicroPython code, run by
``micropython`` through run.py; the MicroPython twin of what the CPython harness once was."""

import json

import app
import machine
from app.clock import Clock
from app.loop import Loop

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
REPO = _HERE + "/../../.."
FIRMWARE_DIR = REPO + "/hardware/firmware"
VECTORS_FILE = REPO + "/hardware/protocol-vectors.json"
WILDCARD = "*"


def load_vectors():
    with open(VECTORS_FILE) as handle:
        return json.loads(handle.read())


def matches(expected, actual):
    """The vectors' comparison: "*" matches any value, booleans are not numbers."""
    if expected == WILDCARD:
        return True
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or sorted(expected) != sorted(actual):
            return False
        return all(matches(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return False
        return all(matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


class ScriptPort:
    """The USB port as a script: ``pending`` is read once, writes are collected."""

    def __init__(self):
        self.pending = b""
        self.out = bytearray()
        self.taken = 0

    def read(self, timeout_ms):
        data = self.pending
        self.pending = b""
        return data

    def write(self, data):
        self.out.extend(data)


class ScriptedFirmware:
    """One booted firmware (board rev_a unless told) whose physical state the test sets;
    :meth:`exchange` runs bytes through the real main loop and returns what it wrote."""

    BOOT_ID = "0badcafe"

    def __init__(self, setup=None, board="rev_a"):
        self.machine = machine
        self.board = app.load_board(board)
        self.model = machine.BoardModel(self.board)
        self.model.setup(setup or {})
        machine.use_board(self.model)
        self.clock = Clock()
        self.port = ScriptPort()
        self.wire = self.port.out  # everything the firmware wrote, to check for 0x03
        self.boot(self.BOOT_ID)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def boot(self, boot_id):
        """(Re)start the firmware on the same board: writes its hello line."""
        self.reader = app.make_reader(machine, self.board, self.clock, boot_id)
        self.loop = Loop(self.port, self.reader)
        self.loop.boot()
        self.hello = self._take()[0]

    def exchange(self, data, polls=1):
        """Send raw bytes, run ``polls`` more turns of the loop; return what it wrote."""
        self.port.pending = data
        for _ in range(polls + 1):
            if self.loop.step(0):
                break
        return self._take()

    def ask(self, line):
        """Send one request line; return its reply (events around it are dropped)."""
        for answer in self.exchange(line.encode() + b"\n", 0):
            if "id" in answer:
                return answer
        raise AssertionError("no reply to %s" % line)

    def _take(self):
        data = bytes(self.port.out[self.port.taken:])
        self.port.taken = len(self.port.out)
        return [json.loads(line.decode()) for line in data.split(b"\n") if line]

    def close(self):
        machine.use_board(None)
