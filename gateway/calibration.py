"""Reader calibrations: stored per reader with a date; the state every reading carries.

A calibration (``nongan calibrate``; the procedure is in ``gateway.technician``) is a flat
field from a blank white card plus the figures of its checks (LED uniformity, focus,
exposure). The latest one decides the reader's state:

- ``none``: never calibrated; ``failed``: the latest attempt failed its checks;
- ``overdue``: older than the interval; ``due_soon``: in the last fifth of it; ``ok``.

Readings made in any state but ``ok``/``due_soon`` are flagged in their record, and the kiosk
refuses to start a test (see ``gateway.station``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .storage import KioskDatabase

CalibrationStateName = Literal["ok", "due_soon", "overdue", "failed", "none"]
USABLE_STATES: frozenset[str] = frozenset({"ok", "due_soon"})


@dataclass(frozen=True)
class CalibrationState:
    state: CalibrationStateName
    calibrated_at: datetime | None = None
    flat_field: np.ndarray | None = field(default=None, repr=False, compare=False)
    problems: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.state in USABLE_STATES


class CalibrationBook:
    def __init__(self, db: KioskDatabase, folder: Path, *, interval: timedelta) -> None:
        self.db = db
        self.folder = folder
        self.interval = interval

    def record(
        self,
        reader_id: str,
        *,
        passed: bool,
        figures: dict[str, Any],
        problems: list[str],
        flat_field: np.ndarray | None,
        performed_at: datetime | None = None,
    ) -> int:
        """Store one calibration attempt (passed or not); returns its id."""
        performed_at = performed_at or datetime.now(UTC)
        flat_file: str | None = None
        if flat_field is not None and passed:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{reader_id}-{performed_at:%Y%m%dT%H%M%S}.npy"
            np.save(path, flat_field.astype(np.float32))
            flat_file = path.name
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO calibrations (reader_id, performed_at, passed, flat_field_file,"
                " figures, problems) VALUES (?, ?, ?, ?, ?, ?)",
                (reader_id, performed_at.isoformat(), int(passed), flat_file,
                 json.dumps(figures), json.dumps(problems)),
            )
            return int(cursor.lastrowid or 0)

    def current(self, reader_id: str, now: datetime | None = None, *,
                load_flat_field: bool = True) -> CalibrationState:
        """The reader's calibration state now, with the flat field of the latest pass.

        Args:
            reader_id: which reader.
            now: the time to judge the calibration's age against (default: now, UTC).
            load_flat_field: read the flat field (megabytes) into the state; pass False when
                only the state and date are needed. A missing file is ``failed`` either way.
        """
        now = now or datetime.now(UTC)
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT performed_at, passed, flat_field_file, problems FROM calibrations"
                " WHERE reader_id = ? ORDER BY performed_at DESC, id DESC LIMIT 1",
                (reader_id,),
            ).fetchone()
        if row is None:
            return CalibrationState("none")
        performed_at = datetime.fromisoformat(row[0])
        if not row[1]:
            return CalibrationState("failed", performed_at, problems=json.loads(row[3]))
        flat = None
        if row[2]:
            path = self.folder / row[2]
            if not path.exists():
                return CalibrationState(
                    "failed", performed_at,
                    problems=[f"the flat-field file {path} is missing: calibrate again"],
                )
            if load_flat_field:
                flat = np.load(path)
        age = now - performed_at
        if age > self.interval:
            state: CalibrationStateName = "overdue"
        elif age > self.interval * 0.8:
            state = "due_soon"
        else:
            state = "ok"
        return CalibrationState(state, performed_at, flat)
