"""The reader controller interface: LED light, strip tray, cassette sensor and heater.

A backend implements three narrow methods (``_open``, ``_close``, ``_command``: one request,
one reply); everything else — argument checks, waits, state restored after a board reset,
health — lives here, so the serial board and the simulated one behave the same to callers.
Methods block; call them from a worker thread (``asyncio.to_thread``) in async code.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, Self

from device_drivers.config import ReaderConfig
from device_drivers.errors import (
    DeviceError,
    DeviceTimeout,
    ProtocolMismatch,
    ReaderError,
    ReaderReset,
)
from device_drivers.health import Health, HealthState
from device_drivers.lifecycle import ContextManaged
from device_drivers.reader.model import FirmwareInfo, ReaderStatus, fix_for

log = logging.getLogger(__name__)

POLL_S = 0.05


class Resend(Exception):
    """Raised by a backend's attempt when it recovered the link (a port reopened) and the
    request should simply be sent again."""


class ReaderController(ContextManaged):
    """The reader board. Open it (or use ``with``) before calling anything else.

    State is read with properties (each one a status round trip) or :meth:`status` for a
    consistent snapshot; actions are verbs; waits are ``wait_for_*`` and return False on
    timeout. Board errors raise :class:`~device_drivers.errors.ReaderError` with a ``code``
    and a ``fix``.
    """

    backend: str = "?"

    def __init__(self, config: ReaderConfig) -> None:
        self.config = config
        self._info: FirmwareInfo | None = None
        self._lock = threading.RLock()
        self._resets = 0
        # What the host wants, re-sent after a board reset (a reset turns LED and heater off).
        self._want_led = 0.0
        self._want_setpoint: float | None = None
        self._restoring = False

    # -- backend seam ------------------------------------------------------------------------

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _command(self, op: str, *, timeout_s: float | None = None, retry: bool = True,
                 **params: Any) -> dict[str, Any]:
        """Send one request and return the reply's fields; raise ReaderError on ok=false."""

    def _with_retries(self, op: str, retry: bool,
                      attempt: Callable[[bool], dict[str, Any]]) -> dict[str, Any]:
        """Run ``attempt(last)`` up to 1 + ``config.retries`` times (once if not ``retry``).

        One policy for every backend: a board reset (ReaderReset with the new boot's info)
        is recorded and the request sent again; so is a request that timed out or that the
        backend asks to ``Resend``; on the last attempt the error is raised as it came. A
        ReaderReset without boot info (the link lost for good) is raised at once.
        """
        attempts = 1 + (self.config.retries if retry else 0)
        for n in range(attempts):
            last = n == attempts - 1
            try:
                return attempt(last)
            except ReaderReset as exc:
                if not isinstance(exc.info, FirmwareInfo):
                    raise  # the link itself went and did not come back: resending is futile
                self._board_reset(exc.info)
                if last:
                    raise
            except DeviceTimeout:
                if last:
                    raise
                log.warning("reader: %r timed out, retrying", op)
            except Resend:
                if last:  # pragma: no cover - backends raise an error on the last attempt
                    raise DeviceTimeout(f"reader did not answer {op!r}",
                                        fix="check the USB cable to the reader board") from None
        raise AssertionError("unreachable")

    # -- life cycle --------------------------------------------------------------------------

    def open(self) -> Self:
        """Connect and shake hands; raise DeviceAbsent, DeviceTimeout or ProtocolMismatch."""
        with self._lock:
            self._open()
            try:
                info = self.hello(timeout_s=self.config.handshake_timeout_s)
                if info.proto != self.config.protocol:
                    raise ProtocolMismatch(
                        f"reader firmware {info.fw} speaks protocol {info.proto}, this kiosk "
                        f"speaks {self.config.protocol}",
                        fix="update the reader firmware: nongan firmware deploy --port PORT",
                    )
            except BaseException:
                self._info = None
                self._close()
                raise
            return self

    def close(self) -> None:
        with self._lock:
            self._info = None
            self._close()

    @property
    def is_open(self) -> bool:
        return self._info is not None

    @property
    def info(self) -> FirmwareInfo:
        """The firmware that answered the last handshake."""
        if self._info is None:
            raise DeviceError("reader controller is not open", fix="call open() first")
        return self._info

    @property
    def resets(self) -> int:
        """How many board resets this connection has seen (and recovered from)."""
        return self._resets

    # -- protocol ops ------------------------------------------------------------------------

    def hello(self, timeout_s: float | None = None) -> FirmwareInfo:
        """Ask the board who it is; notice a reset from a changed boot id."""
        info = FirmwareInfo.from_fields(self._command("hello", timeout_s=timeout_s))
        previous, self._info = self._info, info
        if previous is not None and previous.boot != info.boot:
            self._board_reset(info)
        return info

    def status(self) -> ReaderStatus:
        """One consistent snapshot of LED, tray, cassette, heater and faults."""
        return ReaderStatus.from_fields(self._command("status"))

    def set_led(self, level: float) -> None:
        """Set the illumination, 0.0 (off) to 1.0 (full)."""
        level = float(level)
        if not 0.0 <= level <= 1.0:
            raise ValueError(f"LED level must be 0..1, not {level}")
        self._want_led = level
        self._command("led", level=level)

    def set_heater(self, setpoint_c: float | None) -> None:
        """Heat the tray to ``setpoint_c`` degrees Celsius, or turn the heater off (None)."""
        if setpoint_c is not None:
            setpoint_c = float(setpoint_c)
            if not 0.0 <= setpoint_c <= 60.0:
                raise ValueError(f"heater set-point must be 0..60 °C, not {setpoint_c}")
        self._want_setpoint = setpoint_c
        self._command("heater", setpoint=setpoint_c)

    def move_tray(self, pos: str) -> str:
        """Start moving the tray "in" or "out"; return "moving", or ``pos`` if already there."""
        if pos not in ("in", "out"):
            raise ValueError(f"tray position must be 'in' or 'out', not {pos!r}")
        return str(self._command("tray", pos=pos)["tray"])

    def clear_faults(self) -> None:
        """Forget latched faults (after a person fixed the cause)."""
        self._command("clear")

    # -- state -------------------------------------------------------------------------------

    @property
    def cassette_present(self) -> bool:
        return self.status().cassette

    @property
    def temperature_c(self) -> float | None:
        return self.status().temperature_c

    @property
    def tray(self) -> str:
        return self.status().tray

    @property
    def faults(self) -> tuple[str, ...]:
        return self.status().faults

    # -- waits -------------------------------------------------------------------------------

    def close_tray(self, timeout_s: float | None = None) -> None:
        """Move the tray in and wait until it is there; raise ReaderError if it jams."""
        self._move_and_wait("in", timeout_s)

    def open_tray(self, timeout_s: float | None = None) -> None:
        """Move the tray out and wait until it is there; raise ReaderError if it jams."""
        self._move_and_wait("out", timeout_s)

    def _move_and_wait(self, pos: str, timeout_s: float | None) -> None:
        if self.move_tray(pos) == pos:
            return
        limit = self.config.tray_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        while True:
            status = self.status()
            if status.tray == pos:
                return
            if status.tray == "jammed" or "tray_jammed" in status.faults:
                raise ReaderError(f"tray jammed moving {pos}", code="tray_jammed",
                                  fix=fix_for("tray_jammed"))
            if status.tray not in ("moving", pos):
                # A reset stops the motor: start again (moves are idempotent).
                self.move_tray(pos)
            if time.monotonic() > deadline:
                raise DeviceTimeout(f"tray did not reach {pos!r} within {limit:g} s",
                                    fix=fix_for("tray_jammed"))
            time.sleep(POLL_S)

    def wait_for_cassette(self, present: bool = True, timeout_s: float = 30.0) -> bool:
        """Wait until a cassette is (or, with ``present=False``, is no longer) on the tray."""
        deadline = time.monotonic() + timeout_s
        while self.status().cassette != present:
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True

    def wait_for_temperature(self, target_c: float, tolerance_c: float = 1.0,
                             timeout_s: float = 120.0) -> bool:
        """Wait until the tray is within ``tolerance_c`` of ``target_c``."""
        deadline = time.monotonic() + timeout_s
        while True:
            temp = self.status().temperature_c
            if temp is not None and abs(temp - target_c) <= tolerance_c:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)

    # -- reset recovery ----------------------------------------------------------------------

    def _board_reset(self, info: FirmwareInfo) -> None:
        """The board rebooted: count it and put back what the host had asked for."""
        if self._info is not None:  # a board that boots while we open it is no news
            self._resets += 1
        self._info = info
        if self._restoring:
            # It reset again while we put the state back (a board that browns out whenever
            # it heats): the restore under way fails and says so; restoring again from in
            # here would recurse once per reset, without end.
            return
        log.warning("reader board reset (boot %s); restoring LED %.2f, heater %s",
                    info.boot, self._want_led, self._want_setpoint)
        self._restoring = True
        try:
            if self._want_led:
                self._command("led", retry=False, level=self._want_led)
            if self._want_setpoint is not None:
                self._command("heater", retry=False, setpoint=self._want_setpoint)
        except DeviceError as exc:
            log.warning("could not restore reader state after reset: %s", exc)
        finally:
            self._restoring = False

    # -- health ------------------------------------------------------------------------------

    def health(self) -> Health:
        """Open if needed, read a status, and say what to do about any fault."""
        opened_here = not self.is_open
        try:
            if opened_here:
                self.open()
            status = self.status()
            info = self.info
        except DeviceError as exc:
            return Health.from_error("reader", self.backend, exc)
        finally:
            if opened_here and self.is_open:
                self.close()
        detail = (f"firmware {info.fw} on {info.board}, tray {status.tray}, "
                  f"{status.temperature_c} °C")
        if status.faults:
            code = status.faults[0]
            return Health("reader", self.backend, HealthState.FAULT,
                          f"{detail}; faults: {', '.join(status.faults)}", fix_for(code))
        if status.temperature_c is None:
            return Health("reader", self.backend, HealthState.FAULT,
                          f"{detail}; no temperature reading", fix_for("thermistor_fault"))
        return Health.usable("reader", self.backend, detail)
