"""The reader controller on a serial line: a Pico on USB (/dev/ttyACM0), a pty, or ``loop://``.

Wiring: the board's USB port to the kiosk; the board runs hardware/firmware. The driver
tolerates what a real USB serial line does: boot banners, tracebacks and half lines (ignored),
an answer that comes after its request timed out (recognised by its id and dropped), a board
that resets mid-command (its hello line arrives instead of the answer: the state the host asked
for is restored and the command is sent again), and a USB port that vanishes during a reset
(reopened for up to ``reconnect_s``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import serial

from device_drivers.config import ReaderConfig
from device_drivers.errors import DeviceAbsent, DeviceTimeout, ReaderError, ReaderReset
from device_drivers.reader.base import ReaderController, Resend
from device_drivers.reader.model import FirmwareInfo, fix_for
from device_drivers.reader.protocol import Event, Reply, classify, encode_request

log = logging.getLogger(__name__)

READ_SLICE_S = 0.05
MAX_PENDING = 4096  # bytes without a newline: garbage, dropped

SerialFactory = Callable[..., Any]


class _PortLost(Exception):
    """The serial port went away under us (USB unplugged or board reset)."""


class SerialReaderController(ReaderController):
    """The real reader board over pyserial.

    Args:
        config: ``backend="serial"`` and ``port``.
        serial_factory: how to open the port (``serial.serial_for_url``); a seam for tests.
    """

    backend = "serial"

    def __init__(self, config: ReaderConfig,
                 serial_factory: SerialFactory = serial.serial_for_url) -> None:
        super().__init__(config)
        self._factory = serial_factory
        self._port: Any = None
        self._rx = bytearray()
        self._next_id = 1
        self.noise_lines = 0
        self.late_replies = 0
        self.events: collections.deque[Event] = collections.deque(maxlen=100)

    @property
    def port_name(self) -> str:
        return str(self.config.port)

    # -- port --------------------------------------------------------------------------------

    def _open(self) -> None:
        self._port = self._open_port()

    def _open_port(self) -> Any:
        name = self.port_name
        if name.startswith("/dev/") and not Path(name).exists():
            raise DeviceAbsent(
                f"reader board not found at {name}",
                fix="check the USB cable between the kiosk and the reader board "
                    "(ls /dev/ttyACM*), or correct devices.reader.port",
            )
        try:
            port = self._factory(name, baudrate=self.config.baud, timeout=READ_SLICE_S,
                                 write_timeout=self.config.timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceAbsent(f"cannot open the reader board's port {name}: {exc}",
                               fix="check the USB cable and that no other program holds "
                                   "the port (mpremote, screen)") from exc
        self._rx.clear()
        with contextlib.suppress(serial.SerialException, OSError, AttributeError):
            port.reset_input_buffer()  # bytes from before we opened are stale
        return port

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _reconnect(self) -> None:
        """Reopen a port that vanished; raise DeviceAbsent if it stays away.

        Giving up leaves the controller closed (``is_open`` False), so the next ``open()`` or
        ``health()`` tries the port again once the cable is back.
        """
        self._close()
        deadline = time.monotonic() + self.config.reconnect_s
        while True:
            try:
                self._port = self._open_port()
                return
            except DeviceAbsent:
                if time.monotonic() > deadline:
                    self._info = None
                    raise
                time.sleep(0.1)

    # -- lines -------------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise _PortLost(str(exc)) from exc

    def _read_line(self, deadline: float) -> bytes | None:
        while True:
            newline = self._rx.find(b"\n")
            if newline >= 0:
                line = bytes(self._rx[:newline]).strip()
                del self._rx[: newline + 1]
                return line
            if len(self._rx) > MAX_PENDING:
                self.noise_lines += 1
                self._rx.clear()
            if time.monotonic() >= deadline:
                return None
            try:
                chunk = self._port.read(max(1, self._port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise _PortLost(str(exc)) from exc
            if chunk:
                self._rx += chunk

    # -- one request, one reply --------------------------------------------------------------

    def _new_id(self) -> int:
        request_id = self._next_id
        self._next_id = self._next_id % 0x7FFFFFFF + 1
        return request_id

    def _transact(self, op: str, params: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        request_id = self._new_id()
        self._write(encode_request(request_id, op, **params))
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._read_line(deadline)
            if line is None:
                raise DeviceTimeout(
                    f"reader board on {self.port_name} did not answer {op!r} within "
                    f"{timeout_s:g} s",
                    fix="check the USB cable to the reader board; if it persists, redeploy "
                        "its firmware (nongan firmware deploy)",
                )
            if not line:
                continue
            msg = classify(line)
            if msg is None:
                self.noise_lines += 1
                log.debug("reader: ignored %r", line[:80])
            elif isinstance(msg, Event):
                self.events.append(msg)
                if msg.name == "hello" and op == "hello":
                    # The board booted around our handshake; asking again costs nothing, and
                    # hello() notices the new boot id.
                    request_id = self._new_id()
                    self._write(encode_request(request_id, op, **params))
                elif msg.name == "hello":
                    raise ReaderReset(
                        f"reader board reset while {op!r} was in flight",
                        fix="none needed if it recovers; if it repeats, check the board's "
                            "power supply",
                        info=FirmwareInfo.from_fields(msg.fields),
                    )
                if msg.name == "fault":
                    log.warning("reader fault: %s", msg.fields)
            elif isinstance(msg, Reply):
                if msg.id != request_id:
                    self.late_replies += 1
                    log.debug("reader: dropped late reply %d (waiting for %d)", msg.id,
                              request_id)
                    continue
                if not msg.ok:
                    raise ReaderError(f"reader board refused {op!r}: {msg.error}: {msg.detail}",
                                      code=msg.error, fix=fix_for(msg.error))
                return msg.fields

    def _command(self, op: str, *, timeout_s: float | None = None, retry: bool = True,
                 **params: Any) -> dict[str, Any]:
        if self._port is None:
            raise DeviceAbsent("reader controller is not open", fix="call open() first")
        timeout = self.config.timeout_s if timeout_s is None else timeout_s

        def attempt(last: bool) -> dict[str, Any]:
            try:
                return self._transact(op, params, timeout)
            except _PortLost as exc:
                log.warning("reader: port %s lost (%s), reopening", self.port_name, exc)
                self._reconnect()
                if last:
                    raise ReaderReset(f"reader board's port {self.port_name} vanished "
                                      f"during {op!r}",
                                      fix="check the USB cable to the reader board") from exc
                try:
                    self._after_reconnect()
                except _PortLost as again:
                    raise ReaderReset(f"reader board's port {self.port_name} vanished "
                                      f"again after reopening during {op!r}",
                                      fix="check the USB cable to the reader board") from again
                raise Resend from exc

        with self._lock:
            return self._with_retries(op, retry, attempt)

    def _after_reconnect(self) -> None:
        """After the port came back: a new boot id means the board reset."""
        info = FirmwareInfo.from_fields(
            self._transact("hello", {}, self.config.handshake_timeout_s))
        if self._info is None or info.boot != self._info.boot:
            self._board_reset(info)
        self._info = info

