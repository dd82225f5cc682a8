# The MicroPython REPL as a board shows it on its USB serial port, for the simulated board's
# --flash mode: what mpremote drives to copy files and reset a board. MicroPython code.
#
# Friendly REPL (">>> ") and raw REPL (Ctrl-A), including raw-paste mode, as MicroPython's
# shared/runtime/pyexec.c does it:
#   raw REPL:   "raw REPL; CTRL-B to exit\r\n>"; code ends with Ctrl-D; the board answers "OK",
#               the output, Ctrl-D, the error output, Ctrl-D, then ">". Ctrl-D on an empty
#               line is a soft reset (the board stays in the raw REPL, main.py does not run).
#   raw paste:  Ctrl-E "A" Ctrl-A -> "R\x01" + the window size (2 bytes, little-endian); the
#               host sends at most a window before the board grants another with Ctrl-A; Ctrl-D
#               ends the code, the board echoes Ctrl-D and runs it (no "OK").
#   friendly:   Ctrl-D is a soft reboot that runs main.py again; Ctrl-C clears the line.
# Code runs with the current directory as the board's file system, in one namespace kept
# between commands (mpremote opens a file in one command and writes to it in the next).
# machine.reset() raises machine.BoardReset out of here: the board boots again.
import io
import sys

CTRL_A, CTRL_B, CTRL_C, CTRL_D, CTRL_E = 1, 2, 3, 4, 5
BANNER = (b"MicroPython v1.29.0 on 2026-01-01; Raspberry Pi Pico (simulated board) with RP2040"
          b"\r\nType \"help()\" for more information.\r\n")
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
WINDOW = 128

REBOOT = "reboot"  # repl() returns this: run main.py again (a soft reboot)


def _traceback(exc, out):
    """Write an exception's traceback to the line (print_exception wants a real stream)."""
    text = io.StringIO()
    sys.print_exception(exc, text)
    out.write(text.getvalue().replace("\n", "\r\n").encode())


class _BoardOs:
    """The os module as a board's file system answers: the empty path is the current
    directory (a board's VFS stats it, as mpremote's "cp ... :" needs; the unix port says
    ENOENT). Everything else is the unix port's own os."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def stat(self, path):
        return self._real.stat(path or ".")

    def ilistdir(self, path="."):
        return self._real.ilistdir(path or ".")

    def listdir(self, path="."):
        return self._real.listdir(path or ".")


def _exec(code, namespace):
    """Run code typed at the REPL with a board's os module."""
    real = sys.modules.get("os")
    if real is None:
        import os as real
    sys.modules["os"] = _BoardOs(real)
    try:
        exec(code, namespace)
    finally:
        sys.modules["os"] = real


def _run(code, namespace, out):
    """Run one raw-REPL command: output, Ctrl-D, error output, Ctrl-D."""
    error = None
    try:
        _exec(code, namespace)
    except Exception as exc:  # the host reads the traceback as the error output
        error = exc
    out.write(b"\x04")
    if error is not None:
        _traceback(error, out)
    out.write(b"\x04")


def repl(read_byte, out, pending=b""):
    """Serve the REPL until a soft reboot (returns REBOOT); machine.BoardReset passes through.

    read_byte() returns the next byte from the host (an int), waiting as long as it takes.
    pending: bytes that arrived with the Ctrl-C that stopped the firmware.
    """
    queue = list(pending)

    def next_byte():
        if queue:
            return queue.pop(0)
        return read_byte()

    namespace = {"__name__": "__main__"}
    raw = False
    line = bytearray()
    out.write(b"\r\n" + BANNER + b">>> ")
    while True:
        c = next_byte()
        if raw:
            if c == CTRL_A:
                if len(line) == 2 and line[0] == CTRL_E:
                    if line[1] != ord("A"):
                        out.write(b"R\x00")
                    else:
                        _raw_paste(next_byte, out, namespace)
                    line = bytearray()
                    out.write(b">")
                    continue
                line = bytearray()
                out.write(RAW_BANNER + b">")
            elif c == CTRL_B:
                raw = False
                line = bytearray()
                out.write(b"\r\n" + BANNER + b">>> ")
            elif c == CTRL_C:
                line = bytearray()
            elif c == CTRL_D:
                out.write(b"OK")
                if not line:
                    # A soft reset: the VM starts afresh and stays in the raw REPL.
                    namespace = {"__name__": "__main__"}
                    out.write(b"\r\nMPY: soft reboot\r\n" + RAW_BANNER + b">")
                    continue
                code, line = bytes(line), bytearray()
                _run(code, namespace, out)
                out.write(b">")
            else:
                line.append(c)
        else:
            if c == CTRL_A:
                raw = True
                line = bytearray()
                out.write(b"\r\n" + RAW_BANNER + b">")
            elif c == CTRL_B:
                line = bytearray()
                out.write(b"\r\n" + BANNER + b">>> ")
            elif c == CTRL_C:
                line = bytearray()
                out.write(b"\r\nKeyboardInterrupt\r\n>>> ")
            elif c == CTRL_D:
                out.write(b"\r\nMPY: soft reboot\r\n")
                return REBOOT
            elif c in (10, 13):
                out.write(b"\r\n")
                if line:
                    code, line = bytes(line), bytearray()
                    try:
                        _exec(code, namespace)
                    except Exception as exc:
                        _traceback(exc, out)
                out.write(b">>> ")
            else:
                line.append(c)
                out.write(bytes((c,)))


def _raw_paste(next_byte, out, namespace):
    """Raw-paste mode: receive the code under flow control, then run it."""
    out.write(b"R\x01" + bytes((WINDOW & 0xFF, WINDOW >> 8)))
    code = bytearray()
    received = 0
    while True:
        c = next_byte()
        if c == CTRL_D:
            out.write(b"\x04")
            break
        code.append(c)
        received += 1
        if received == WINDOW:
            received = 0
            out.write(b"\x01")  # room for another window
    _run(bytes(code), namespace, out)
