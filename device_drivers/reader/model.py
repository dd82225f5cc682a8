"""Values the reader controller reports: its firmware identity and a status snapshot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from device_drivers.errors import ProtocolMismatch

# What a person should do about each error code the board can report (hardware/PROTOCOL.md).
FIXES: dict[str, str] = {
    "bad_value": "this is a bug in the kiosk software; report it with the log",
    "unknown_op": "the reader firmware is too old for this kiosk; run nongan firmware deploy",
    "tray_jammed": "open the reader lid, free the tray, then clear the fault",
    "heater_overtemp": "unplug the reader, let it cool, check the heater pad, then clear the "
                       "fault; call a technician if it happens again",
    "thermistor_fault": "check the temperature sensor's cable (connector J4) on the reader board",
    "host_silent": "the kiosk stopped talking to the reader; restart the kiosk software",
}


def fix_for(code: str) -> str:
    return FIXES.get(code, "call a technician: the reader board reported an unknown fault")


_GARBLED_FIX = ("the reader firmware does not match this kiosk; update it: "
                "nongan firmware deploy --port PORT")


def _garbled(what: str, fields: dict[str, Any], exc: Exception | None = None) -> ProtocolMismatch:
    detail = f": {exc}" if exc is not None else ""
    return ProtocolMismatch(f"reader board sent a {what} this kiosk cannot read "
                            f"({fields!r}){detail}", fix=_GARBLED_FIX)


def _faults(fields: dict[str, Any]) -> tuple[str, ...]:
    faults = fields.get("faults", [])
    if not isinstance(faults, list | tuple) or not all(isinstance(f, str) for f in faults):
        raise _garbled("status (faults is not a list of codes)", fields)
    return tuple(faults)


@dataclass(frozen=True)
class FirmwareInfo:
    """Who answered the handshake.

    Attributes:
        fw: firmware version ("1.0.0").
        proto: line protocol version.
        board: hardware revision ("rev_a").
        boot: random id of this boot; a new value means the board has reset.
    """

    fw: str
    proto: int
    board: str
    boot: str

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> FirmwareInfo:
        try:
            proto = int(fields.get("proto", 0))
        except (TypeError, ValueError) as exc:
            raise _garbled("hello", fields, exc) from exc
        return cls(fw=str(fields.get("fw", "?")), proto=proto,
                   board=str(fields.get("board", "?")), boot=str(fields.get("boot", "?")))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReaderStatus:
    """One snapshot of the reader controller.

    Attributes:
        led: illumination level, 0.0 to 1.0.
        tray: "in", "out", "moving", "jammed" or "unknown".
        cassette: whether a cassette sits on the tray.
        temperature_c: the tray temperature, None when the sensor is faulty.
        setpoint_c: the heater's set-point, None when off.
        heating: whether the heater is drawing power now.
        faults: latched fault codes (cleared by ``clear_faults``).
    """

    led: float
    tray: str
    cassette: bool
    temperature_c: float | None
    setpoint_c: float | None
    heating: bool
    faults: tuple[str, ...]

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> ReaderStatus:
        temp = fields.get("temp")
        setpoint = fields.get("setpoint")
        try:
            led = float(fields.get("led", 0.0))
            temperature_c = None if temp is None else float(temp)
            setpoint_c = None if setpoint is None else float(setpoint)
        except (TypeError, ValueError) as exc:
            raise _garbled("status", fields, exc) from exc
        return cls(
            led=led,
            tray=str(fields.get("tray", "unknown")),
            cassette=bool(fields.get("cassette", False)),
            temperature_c=temperature_c,
            setpoint_c=setpoint_c,
            heating=bool(fields.get("heating", False)),
            faults=_faults(fields),
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = list(self.faults)
        return data
