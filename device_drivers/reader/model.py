"""Values the reader controller reports: its firmware identity and a status snapshot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

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
        return cls(fw=str(fields.get("fw", "?")), proto=int(fields.get("proto", 0)),
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
        return cls(
            led=float(fields.get("led", 0.0)),
            tray=str(fields.get("tray", "unknown")),
            cassette=bool(fields.get("cassette", False)),
            temperature_c=None if temp is None else float(temp),
            setpoint_c=None if setpoint is None else float(setpoint),
            heating=bool(fields.get("heating", False)),
            faults=tuple(str(f) for f in fields.get("faults", ())),
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["faults"] = list(self.faults)
        return data
