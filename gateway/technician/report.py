"""The doctor's vocabulary: a check's status, one check's result, and the whole report."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """ok: nothing to do; warning: works, but needs attention soon; fault: fix it now."""

    OK = "ok"
    WARNING = "warning"
    FAULT = "fault"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table.

    Attributes:
        area: what part of the kiosk (devices, outbox, broker, clock, disk, calibration,
            kits, settings).
        name: what exactly ("camera", "reader firmware", "gold-procymidone-v1", ...).
        status: ok, warning or fault.
        detail: what was found.
        fix: what to do, in plain words (empty when nothing needs doing).
    """

    area: str
    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


@dataclass(frozen=True)
class DoctorReport:
    """Every check of one kiosk at one time."""

    device_id: str
    checked_at: datetime
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(c.status.value for c in self.checks)
        return {s.value: found.get(s.value, 0) for s in Status}

    @property
    def status(self) -> Status:
        """The worst status of any check."""
        states = {c.status for c in self.checks}
        for worst in (Status.FAULT, Status.WARNING):
            if worst in states:
                return worst
        return Status.OK

    @property
    def exit_code(self) -> int:
        """0 unless a check found a fault (warnings do not fail the command)."""
        return 1 if self.status is Status.FAULT else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "checked_at": self.checked_at.isoformat(),
            "status": self.status.value,
            "counts": self.counts,
            "notes": list(self.notes),
            "checks": [c.as_dict() for c in self.checks],
        }
