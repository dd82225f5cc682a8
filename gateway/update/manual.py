"""What a technician does by hand: adopt an installation as the first release, roll back.

- ``adopt``: a kiosk installed from a git checkout (``/opt/nongan/.venv``) becomes release
  ``<its version>`` (a link to the checkout) and ``current`` points at it; from then on
  bundles install beside it and it is the release to go back to.
- ``roll_back``: ``current`` goes to ``previous`` and ``previous`` to the release that was
  current, so rolling back twice returns. The kiosk service is restarted. Refused while a new
  release is on trial (the guard decides that one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from .errors import UpdateError
from .journal import Kind, State, UpdateJournal
from .layout import ReleaseLayout
from .service import ServiceControl
from .trial import Trial


@dataclass(frozen=True)
class RollbackResult:
    from_version: str
    to_version: str
    update_id: str
    restarted: bool


def roll_back(layout: ReleaseLayout, journal: UpdateJournal, *, trial_file: Path,
              reason: str, service: ServiceControl | None, kiosk_unit: str) -> RollbackResult:
    """Switch ``current`` and ``previous`` and restart the kiosk (``service`` None: don't).

    Raises:
        UpdateError: no previous release, or a release on trial.
    """
    if Trial.load(trial_file) is not None:
        raise UpdateError("a new release is on trial: the guard keeps it or goes back by "
                          "itself (see nongan doctor); wait for it")
    current, previous = layout.current(), layout.previous()
    if current is None or previous is None:
        raise UpdateError(f"nothing to roll back to: current is {current}, previous is "
                          f"{previous} (under {layout.root})")
    layout.switch_to(previous, previous=current)
    installed = [e for e in journal.history(kind=Kind.SOFTWARE, limit=200)
                 if e.version == current and e.state is State.HEALTHY]
    update_id = installed[0].update_id if installed else f"manual-{uuid.uuid4().hex[:12]}"
    journal.record(update_id, Kind.SOFTWARE, State.ROLLED_BACK, version=current,
                   from_version=previous, reason=f"by hand: {reason}",
                   detail={"now_running": previous})
    restarted = False
    if service is not None:
        service.restart(kiosk_unit)
        restarted = True
    return RollbackResult(current, previous, update_id, restarted)
