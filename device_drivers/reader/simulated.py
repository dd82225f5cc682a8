"""A simulated reader controller for the demo and tests, with state a test can drive.

It answers the same ops as the firmware (hardware/PROTOCOL.md) from an in-memory model: the
tray takes ``tray_travel_s`` to move, the tray temperature approaches the set-point at
``heat_rate_c_per_s``. Tests drive it with :meth:`insert_cassette`, :meth:`fail_next`,
:meth:`jam_tray`, :meth:`reset_board` and :meth:`hang`.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from device_drivers.config import ReaderConfig
from device_drivers.errors import DeviceAbsent, DeviceTimeout, ReaderError, ReaderReset
from device_drivers.reader.base import ReaderController
from device_drivers.reader.model import FirmwareInfo, fix_for
from device_drivers.reader.protocol import PROTOCOL_VERSION

SIM_FIRMWARE = "sim-1.0.0"


class SimulatedReaderController(ReaderController):
    """A reader board that exists only in memory; its health says "simulated"."""

    backend = "simulated"

    def __init__(self, config: ReaderConfig, *, tray_travel_s: float = 0.1,
                 heat_rate_c_per_s: float = 20.0, ambient_c: float = 24.0) -> None:
        super().__init__(config)
        self.tray_travel_s = tray_travel_s
        self.heat_rate_c_per_s = heat_rate_c_per_s
        self.ambient_c = ambient_c
        self._state_lock = threading.Lock()
        self._connected = False
        self._boots = 0
        self._failures: dict[str, tuple[str, str]] = {}
        self._hang = 0
        self._pending_reset = False
        self.cassette = False
        self.tray_jammed = False
        self.thermistor_ok = True
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self._tray_pos = "out"  # the tray stays where it is across a reset
        self._power_on()

    # -- the simulated board -----------------------------------------------------------------

    def _power_on(self) -> None:
        self._boots += 1
        self.boot_id = f"sim{self._boots:05d}"
        self.led = 0.0
        self.setpoint: float | None = None
        self._temp = self.ambient_c
        self._temp_at = time.monotonic()
        self._tray_target: str | None = None
        self._tray_done_at = 0.0
        self.board_faults: list[str] = []

    def _advance(self) -> None:
        now = time.monotonic()
        dt, self._temp_at = now - self._temp_at, now
        target = self.setpoint if self.setpoint is not None else self.ambient_c
        step = self.heat_rate_c_per_s * dt
        self._temp = min(target, self._temp + step) if self._temp < target else max(
            target, self._temp - step)
        if self._tray_target is not None and now >= self._tray_done_at:
            if self.tray_jammed:
                self._tray_target = None
                self._tray_pos = "jammed"
                if "tray_jammed" not in self.board_faults:
                    self.board_faults.append("tray_jammed")
            else:
                self._tray_pos, self._tray_target = self._tray_target, None

    # -- drivers for tests and the demo ------------------------------------------------------

    def insert_cassette(self) -> None:
        """A person puts a cassette on the tray."""
        self.cassette = True

    def remove_cassette(self) -> None:
        self.cassette = False

    def fail_next(self, op: str, code: str = "tray_jammed", detail: str = "simulated") -> None:
        """Make the next request ``op`` fail with board error ``code``."""
        with self._state_lock:
            self._failures[op] = (code, detail)

    def jam_tray(self, jammed: bool = True) -> None:
        """Tray moves from now on end in a jam (until called with False)."""
        self.tray_jammed = jammed

    def unplug_thermistor(self, unplugged: bool = True) -> None:
        self.thermistor_ok = not unplugged

    def set_temperature(self, temp_c: float) -> None:
        with self._state_lock:
            self._temp = temp_c
            self._temp_at = time.monotonic()

    def reset_board(self) -> None:
        """The board resets before answering the next request (as after a brown-out)."""
        self._pending_reset = True

    def hang(self, requests: int = 1) -> None:
        """The next ``requests`` requests get no answer (a hung or unplugged board)."""
        self._hang = requests

    # -- backend seam ------------------------------------------------------------------------

    def _open(self) -> None:
        self._connected = True

    def _close(self) -> None:
        self._connected = False

    def _command(self, op: str, *, timeout_s: float | None = None, retry: bool = True,
                 **params: Any) -> dict[str, Any]:
        if not self._connected:
            raise DeviceAbsent("simulated reader controller is not open", fix="call open() first")

        def attempt(last: bool) -> dict[str, Any]:
            if self._hang:
                self._hang -= 1
                raise DeviceTimeout(f"simulated reader did not answer {op!r}",
                                    fix="simulated hang")
            if self._pending_reset:
                self._pending_reset = False
                self._power_on()
                raise ReaderReset(f"simulated reader board reset while {op!r} was in flight",
                                  fix="simulated reset", info=self._hello_info())
            return self._answer(op, params)

        return self._with_retries(op, retry, attempt)

    def _hello_info(self) -> FirmwareInfo:
        return FirmwareInfo(SIM_FIRMWARE, PROTOCOL_VERSION, "simulated", self.boot_id)

    def _answer(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._state_lock:
            self.commands.append((op, dict(params)))
            self._advance()
            failure = self._failures.pop(op, None)
            if failure is not None:
                code, detail = failure
                raise ReaderError(f"reader board refused {op!r}: {code}: {detail}", code=code,
                                  fix=fix_for(code))
            if op == "hello":
                return {"fw": SIM_FIRMWARE, "proto": PROTOCOL_VERSION, "board": "simulated",
                        "boot": self.boot_id}
            if op == "status":
                return {
                    "led": self.led,
                    "tray": "moving" if self._tray_target else self._tray_pos,
                    "cassette": self.cassette,
                    "temp": round(self._temp, 1) if self.thermistor_ok else None,
                    "setpoint": self.setpoint,
                    "heating": self.setpoint is not None and self._temp < self.setpoint,
                    "faults": list(self.board_faults),
                }
            if op == "led":
                self.led = float(params["level"])
                return {"led": self.led}
            if op == "heater":
                setpoint = params["setpoint"]
                if setpoint is not None and not self.thermistor_ok:
                    raise ReaderError("reader board refused 'heater': thermistor_fault",
                                      code="thermistor_fault", fix=fix_for("thermistor_fault"))
                self.setpoint = setpoint
                return {"setpoint": setpoint}
            if op == "tray":
                pos = params["pos"]
                if "tray_jammed" in self.board_faults:
                    self.board_faults.remove("tray_jammed")
                if self._tray_pos == pos and self._tray_target is None:
                    return {"tray": pos}
                self._tray_target = pos
                self._tray_done_at = time.monotonic() + self.tray_travel_s
                return {"tray": "moving"}
            if op == "clear":
                self.board_faults = []
                return {"faults": []}
            raise ReaderError(f"reader board refused {op!r}: unknown_op", code="unknown_op",
                              fix=fix_for("unknown_op"))
