"""What a kiosk's updates look like now: releases, a release on trial, the journal.

Read by ``nongan update status`` and the doctor's "software" checks; the same dictionary will
travel to the cloud with the per-kiosk update history.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..settings import GatewaySettings
from ..storage import KioskDatabase
from .journal import Kind, UpdateJournal
from .layout import ReleaseLayout
from .trial import Trial, trial_path
from .version import firmware_expected, software_version


def update_status(settings: GatewaySettings, db: KioskDatabase | None,
                  history: int = 20) -> dict[str, Any]:
    layout = ReleaseLayout(settings.update.root)
    trial = Trial.load(trial_path(settings.device.data_dir))
    status: dict[str, Any] = {
        "running": software_version(),
        "root": str(layout.root),
        "current": layout.current(),
        "previous": layout.previous(),
        "installed": layout.installed(),
        "firmware_shipped": firmware_expected(),
        "trial": asdict(trial) if trial is not None else None,
        "last": {"software": None, "firmware": None},
        "open": [],
        "history": [],
    }
    if db is not None:
        journal = UpdateJournal(db)
        for kind in Kind:
            last = journal.last_outcome(kind)
            status["last"][kind.value] = last.as_dict() if last else None
        status["open"] = [e.as_dict() for e in journal.open_updates(Kind.SOFTWARE)]
        status["history"] = [e.as_dict() for e in journal.history(limit=history)]
    return status
