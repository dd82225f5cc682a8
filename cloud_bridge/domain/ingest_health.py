"""Is the ingest keeping up? Read from the store alone, for ``/healthz`` and the dashboard.

The API never talks to the workers: each worker writes its own heartbeat row
(``ingest_workers``, see ``cloud_bridge.ingest.heartbeat``). From those rows, the dead-letter
table and the kiosks' telemetry this module finds:

- **stalled** (the stream is not moving): no worker running; a worker retrying (the database
  was unavailable to it); a worker silent for over ``worker_silent_s`` (dead, or cut off from
  the database: a running worker writes every ``ingest.heartbeat_s``); a worker that crashed;
  a worker holding a message unacknowledged for over ``ingest_stall_s``;
- **attention** (the stream moves, a person must act): dead letters waiting; an online kiosk
  whose oldest unacknowledged record is older than ``kiosk_backlog_s`` (its telemetry says
  so: the cloud is not acknowledging it, e.g. a refused record holds its watermark back).

Rows of workers gone for over ``worker_forget_s`` (renamed, scaled down) are ignored. With no
worker row, no dead letter and no backlog there is nothing to say (``None``): an API that
runs without ingest, as in tests, is simply healthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud_bridge.settings import DashboardSection
from cloud_bridge.store.ingest_models import IngestWorkerRow, WorkerStateValue
from cloud_bridge.store.models import (
    DeadLetter,
    DeadLetterState,
    Device,
    DeviceStateValue,
    DeviceStatus,
    LatestTelemetry,
)
from cloud_bridge.store.types import utcnow

OK, STALLED, ATTENTION = "ok", "stalled", "attention"


@dataclass(frozen=True)
class WorkerHealth:
    client_id: str
    host: str
    pid: int
    state: str
    state_since: datetime
    heartbeat_age_s: float
    in_hand: int
    oldest_in_hand_age_s: float | None
    last_error: str | None
    recorded: int
    dead_letters: int
    unstorable: int
    database_retries: int
    problem: str | None


@dataclass(frozen=True)
class KioskBacklog:
    device_id: str
    outbox_pending: int
    oldest_age_s: float


@dataclass
class IngestHealth:
    status: str
    """``ok``, ``stalled`` or ``attention``."""
    problems: list[str] = field(default_factory=list)
    """English sentences for logs, the API and monitoring."""
    workers: list[WorkerHealth] = field(default_factory=list)
    dead_letters_open: int = 0
    oldest_dead_letter_age_s: float | None = None
    backlogs: list[KioskBacklog] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == OK


def ingest_health(session: Session, limits: DashboardSection, *, now: datetime | None = None
                  ) -> IngestHealth | None:
    """The ingest's health, or None when nothing has ever reported (see the module docstring)."""
    now = now or utcnow()
    rows = session.scalars(select(IngestWorkerRow).order_by(IngestWorkerRow.client_id)).all()
    workers = [w for w in (_worker(r, limits, now) for r in rows)
               if w.heartbeat_age_s <= limits.worker_forget_s]
    count, oldest = session.execute(
        select(func.count(), func.min(DeadLetter.first_seen))
        .where(DeadLetter.state == DeadLetterState.OPEN)).one()
    backlogs = _backlogs(session, limits, now)
    if not workers and not count and not backlogs:
        return None
    health = IngestHealth(OK, workers=workers, dead_letters_open=int(count or 0),
                          oldest_dead_letter_age_s=_age(now, oldest), backlogs=backlogs)
    stalled = [w.problem for w in workers if w.problem is not None]
    if workers and not any(_alive(w, limits) for w in workers):
        stalled.insert(0, "no ingest worker is running: kiosks' records wait in the broker")
    attention = []
    if health.dead_letters_open:
        attention.append(f"{health.dead_letters_open} dead letter(s) wait for a person, the "
                         f"oldest for {_duration(health.oldest_dead_letter_age_s or 0)} "
                         "(nongan bridge dead-letters list)")
    for b in backlogs:
        attention.append(f"kiosk {b.device_id} is online with {b.outbox_pending} record(s) "
                         f"unacknowledged, the oldest for {_duration(b.oldest_age_s)}")
    health.problems = stalled + attention
    health.status = STALLED if stalled else ATTENTION if attention else OK
    return health


def _worker(row: IngestWorkerRow, limits: DashboardSection, now: datetime) -> WorkerHealth:
    age = _age(now, row.heartbeat_at) or 0.0
    held = _age(now, row.oldest_in_hand_at) if row.in_hand else None
    name = row.client_id
    problem = None
    if row.state == WorkerStateValue.CRASHED:
        problem = f"worker {name} crashed: {row.last_error or 'see its log'}"
    elif row.state == WorkerStateValue.STOPPED:
        problem = None
    elif age > limits.worker_silent_s:
        problem = (f"worker {name} has been silent for {_duration(age)} (dead, or it cannot "
                   "reach the database)")
    elif row.state == WorkerStateValue.RETRYING:
        problem = (f"worker {name} has been retrying for "
                   f"{_duration(_age(now, row.state_since) or 0)}: "
                   f"{row.last_error or 'the database is unavailable'}")
    elif held is not None and held > limits.ingest_stall_s:
        problem = (f"worker {name} holds {row.in_hand} message(s) unacknowledged, the oldest "
                   f"received {_duration(held)} ago")
    return WorkerHealth(name, row.host, row.pid, row.state, row.state_since, age, row.in_hand,
                        held, row.last_error, row.recorded, row.dead_letters, row.unstorable,
                        row.database_retries, problem)


def _alive(worker: WorkerHealth, limits: DashboardSection) -> bool:
    return (worker.state in (WorkerStateValue.RUNNING, WorkerStateValue.RETRYING)
            and worker.heartbeat_age_s <= limits.worker_silent_s)


def _backlogs(session: Session, limits: DashboardSection, now: datetime) -> list[KioskBacklog]:
    t = LatestTelemetry
    found = session.execute(
        select(t.device_id, t.outbox_pending, t.outbox_oldest_age_s, t.received_at)
        .join(Device, Device.id == t.device_id)
        .join(DeviceStatus, DeviceStatus.device_id == t.device_id)
        .where(Device.state == DeviceStateValue.ENROLLED, DeviceStatus.state == "online",
               t.outbox_pending > 0, t.outbox_oldest_age_s > limits.kiosk_backlog_s)
        .order_by(t.device_id)).all()
    # Only telemetry heard recently says how things are now.
    return [KioskBacklog(d, int(n), float(a or 0)) for d, n, a, at in found
            if (_age(now, at) or 0) <= limits.kiosk_backlog_s]


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
