"""Health reports: one small value per device for the technician tools and telemetry."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import DeviceAbsent, DeviceError


class HealthState(StrEnum):
    """How a device is doing, as the technician table shows it."""

    OK = "ok"
    FAULT = "fault"
    ABSENT = "absent"
    SIMULATED = "simulated"


@dataclass(frozen=True)
class Health:
    """One device's health.

    Attributes:
        device: which device ("camera", "reader", "printer", "scanner").
        backend: the configured backend ("opencv", "serial", "simulated", ...).
        state: ok, fault, absent or simulated.
        detail: what was observed (for logs and the technician).
        fix: what to do about it in plain words; empty when nothing needs doing.
    """

    device: str
    backend: str
    state: HealthState
    detail: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        """True when the device can be used (a simulated device counts as usable)."""
        return self.state in (HealthState.OK, HealthState.SIMULATED)

    @classmethod
    def from_error(cls, device: str, backend: str, exc: DeviceError) -> Health:
        """The health of a device whose check raised: absent, or at fault, with the fix."""
        state = HealthState.ABSENT if isinstance(exc, DeviceAbsent) else HealthState.FAULT
        # The message alone: str(exc) ends with the fix too, which is carried separately.
        detail = str(exc.args[0]) if exc.args else str(exc)
        return cls(device, backend, state, detail, exc.fix)

    @classmethod
    def usable(cls, device: str, backend: str, detail: str) -> Health:
        """A device that passed its check: ok, or simulated (never mistaken for the real one)."""
        state = HealthState.SIMULATED if backend == "simulated" else HealthState.OK
        return cls(device, backend, state, detail)
