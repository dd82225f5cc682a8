# The reader controller board on MicroPython's unix port: boots the firmware's real main.py
# with the simulated machine module (sim/machine.py), stdin/stdout being the board's USB
# serial port, and boots it again after every machine.reset(), printing what a Pico prints
# around a reset, while the physical state (tray, heater pad, cassette) carries over.
#
#   cd FLASH_DIR && micropython .../hardware/firmware/sim/board.py [--setup JSON] [--probe TTY]
#
# FLASH_DIR plays the board's file system: the firmware reads board.txt there (rev_a without).
# --setup  the physical state before the first boot, e.g. '{"tray": "in", "temp_c": 37.0}'
#          (the keys of a protocol vector's "board", hardware/PROTOCOL.md).
# --probe  a terminal (a pty's slave) for the test probe: one JSON object per line in, the
#          board's state per line out. {"set": {...}} changes the physical state;
#          {"reset_on_op": "status"} resets the board on the next request with that op before
#          it answers (a reset mid-command; "count": N for the next N such requests, as a board
#          that browns out whenever it heats would); {"tray_timeout_ms": 200} shortens the
#          running firmware's jam timeout. Every line is answered with the state: outputs, duty
#          cycles, watchdog, boots, ops handled, 0x03 bytes written.
# --flash  a board with a file system and a REPL, as mpremote meets one: the firmware (main.py,
#          app/, boards/) is booted from FLASH_DIR, not from the repository, so what mpremote
#          copies there is what runs after a reset; a 0x03 byte from the host interrupts the
#          firmware into the REPL (sim/repl.py: friendly, raw and raw-paste), as the USB
#          serial port's interrupt character does on a board; a board without main.py, or
#          whose main.py returns, sits in the REPL. The pins are the repository's board file
#          (the hardware does not change when its firmware does).
import json
import select
import sys

SIM_DIR = sys.path[0] or "."
REPO_FIRMWARE_DIR = SIM_DIR + "/.."
FLASH = "--flash" in sys.argv
# The firmware that boots: the flash's own (the current directory) or the repository's.
FIRMWARE_DIR = "." if FLASH else REPO_FIRMWARE_DIR
sys.path.insert(1, "" if FLASH else FIRMWARE_DIR)

import machine  # sim/machine.py: sys.path[0] is this directory
import repl  # sim/repl.py

# What a real RP2040 prints around a reset: the host must ignore all of it.
BOOT_NOISE = (
    b'{"id":7,"ok":tr'  # half a reply cut by the reset
    b"\xff\xfe\x00garbage\r\n"
    b"Traceback (most recent call last):\r\n"
    b'  File "main.py", line 5, in <module>\r\n'
    b"KeyboardInterrupt: \r\n"
    b"MPY: soft reboot\r\n"
    b"MicroPython v1.22.2 on 2024-02-22; Raspberry Pi Pico with RP2040\r\n"
    b'Type "help()" for more information.\r\n'
    b'{"event": "unknown_future_event"}\r\n'
)


class Sim:
    """The board's state outside the firmware, and the probe that shows and changes it."""

    def __init__(self, model, probe_path):
        self.model = model
        self.boots = 0
        self.reader = None
        self.ops = []
        self.ctrl_c = 0
        self.written = 0
        self.reset_on_op = None
        self.reset_count = 0
        self._probe = None
        self._busy = False
        self._line = bytearray()
        self.interrupted = None  # bytes after a host's 0x03 that stopped the firmware
        if probe_path:
            self._probe = open(probe_path, "r+b")
            self._poll = select.poll()
            self._poll.register(self._probe, select.POLLIN)
            model.hook = self.service

    # -- observation of the firmware (wrapped around its classes at every boot) ----------------

    def instrument(self, reader_cls, port_cls):
        sim = self
        init, handle, write = reader_cls.__init__, reader_cls.handle, port_cls.write
        read = port_cls.read

        def reader_init(reader, *args):
            init(reader, *args)
            sim.reader = reader

        def reader_handle(reader, msg):
            op = msg.get("op")
            sim.ops.append(op)
            if sim.reset_count > 0 and op == sim.reset_on_op:
                sim.reset_count -= 1
                machine.reset()
            return handle(reader, msg)

        def port_write(port, data):
            sim.ctrl_c += data.count(b"\x03")
            sim.written += len(data)
            write(port, data)

        def port_read(port, timeout_ms):
            data = read(port, timeout_ms)
            if b"\x03" in data:
                # The USB port's interrupt character: the firmware stops, the REPL takes
                # the line (with what came after the 0x03).
                sim.interrupted = data[data.index(b"\x03") + 1:]
                raise KeyboardInterrupt
            return data

        reader_cls.__init__ = reader_init
        reader_cls.handle = reader_handle
        port_cls.write = port_write
        if FLASH:
            port_cls.read = port_read

    # -- the probe -----------------------------------------------------------------------------

    def state(self):
        state = self.model.snapshot()
        state["boots"] = self.boots
        state["serving"] = self.written > 0
        state["ops"] = self.ops
        state["ctrl_c"] = self.ctrl_c
        state["boot_id"] = self.reader.boot_id if self.reader is not None else None
        return state

    def command(self, cmd):
        if "set" in cmd:
            self.model.setup(cmd["set"])
        if "reset_on_op" in cmd:
            self.reset_on_op = cmd["reset_on_op"]
            self.reset_count = cmd.get("count", 1)
        if "tray_timeout_ms" in cmd:
            if self.reader is None:
                raise RuntimeError("the firmware has not booted yet")
            self.reader.hw["tray"]._timeout_ms = cmd["tray_timeout_ms"]
        return self.state()

    def service(self):
        """Answer the probe's complete lines; called before every pin access."""
        if self._busy:
            return
        self._busy = True
        try:
            while self._poll.poll(0):
                b = self._probe.read(1)
                if not b:
                    break
                if b != b"\n":
                    self._line.extend(b)
                    continue
                try:
                    reply = self.command(json.loads(bytes(self._line)))
                except Exception as exc:  # a bad probe line is the test's bug: say so
                    reply = {"error": "%s: %s" % (type(exc).__name__, exc)}
                self._line = bytearray()
                self._probe.write(json.dumps(reply).encode() + b"\n")
        finally:
            self._busy = False


class _PinTable:
    """A board file's constants, loaded without importing the firmware (see physical_board)."""


def physical_board():
    """The board revision's pin table. With --flash it comes from the repository, read as a
    file: the firmware on the flash may be broken, or absent, and the hardware stays."""
    if not FLASH:
        import app

        return app.load_board(app.board_name())
    name = "rev_a"
    try:
        with open("board.txt") as handle:
            name = handle.read().strip() or name
    except OSError:
        pass
    namespace = {}
    with open(REPO_FIRMWARE_DIR + "/boards/" + name + ".py") as handle:
        exec(handle.read(), namespace)
    table = _PinTable()
    for key, value in namespace.items():
        setattr(table, key, value)
    return table


def forget_firmware():
    """A reset clears RAM: the next boot imports the firmware afresh."""
    for name in list(sys.modules):
        if name.split(".")[0] in ("app", "boards", "main"):
            del sys.modules[name]


def run(sim):
    out = sys.stdout.buffer
    if FLASH:
        sim.stdin_poll = select.poll()
        sim.stdin_poll.register(sys.stdin, select.POLLIN)
    while True:
        forget_firmware()
        source = _main_source()
        if source is None:  # a board without firmware sits in the REPL
            _serve_repl(sim, out, b"")
            continue
        try:
            import app.controller
            import app.usb

            sim.instrument(app.controller.Reader, app.usb.UsbPort)
        except Exception:
            if not FLASH:
                raise
            forget_firmware()  # a broken firmware on the flash: main.py shows it below
        sim.reader = None
        sim.boots += 1
        try:
            exec(source, {"__name__": "__main__"})
        except machine.BoardReset:
            out.write(BOOT_NOISE)
            if FLASH:
                _interrupt_between_boots(sim, out)
            continue
        except KeyboardInterrupt:
            if not FLASH:
                raise
            out.write(b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n")
            pending, sim.interrupted = sim.interrupted or b"", None
            _serve_repl(sim, out, pending)
            continue
        if not FLASH:
            return  # main.py returned: a board would sit in the REPL
        _serve_repl(sim, out, b"")


def _main_source():
    try:
        with open(FIRMWARE_DIR + "/main.py") as handle:
            return handle.read()
    except OSError:
        return None


def _read_byte(sim):
    """The next byte from the host for the REPL; the probe is served while waiting."""
    while True:
        if sim.stdin_poll.poll(50):
            b = sys.stdin.buffer.read(1)
            if b:
                return b[0]
            sim.stdin_poll.unregister(sys.stdin)  # end of input: only the probe is left
        if sim._probe is not None:
            sim.service()


def _serve_repl(sim, out, pending):
    """The REPL until a soft reboot (return) or a reset (BoardReset: boot again)."""
    try:
        repl.repl(lambda: _read_byte(sim), out, pending)
    except machine.BoardReset:
        out.write(BOOT_NOISE)


def _interrupt_between_boots(sim, out):
    """A 0x03 that arrived while the firmware was down (a crash loop's pause, a reset): a
    board's REPL would have taken it, so the next boot is the REPL's."""
    data = bytearray()
    while sim.stdin_poll.poll(0):
        b = sys.stdin.buffer.read(1)
        if not b:
            break
        data.extend(b)
    if b"\x03" in data:
        _serve_repl(sim, out, bytes(data[data.index(b"\x03") + 1:]))


def main(argv):
    setup = {}
    probe = None
    args = list(argv)
    while args:
        flag = args.pop(0)
        if flag == "--setup":
            setup = json.loads(args.pop(0))
        elif flag == "--probe":
            probe = args.pop(0)
        elif flag == "--flash":
            pass  # read at import (FLASH)
        else:
            raise SystemExit("usage: board.py [--setup JSON] [--probe TTY] [--flash]")
    model = machine.BoardModel(physical_board())
    model.setup(setup)
    machine.use_board(model)
    run(Sim(model, probe))


main(sys.argv[1:])
