"""The worker's heartbeat: its state, written to ``ingest_workers`` for the API to read.

The committer thread calls ``beat`` between batches and while it waits for the database; a row
is written at most every ``interval_s`` (at once when the state changes). The API never imports
the worker: it reads these rows (``cloud_bridge.domain.ingest_health``) and calls a worker
whose heartbeat stopped dead or cut off from the database, one that says ``retrying`` stalled,
and one holding a message for long stalled too.

A heartbeat that cannot be written is logged at debug level and dropped: while the database is
away it cannot be written anyway, and the row's age then tells the truth.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cloud_bridge.store.ingest_models import IngestWorkerRow, WorkerStateValue
from cloud_bridge.store.models import table_of
from cloud_bridge.store.types import utcnow
from cloud_bridge.store.upsert import upsert

log = logging.getLogger(__name__)


@dataclass
class Counters:
    batches: int = 0
    recorded: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    unstorable: int = 0
    database_retries: int = 0


class Heartbeat:
    """Writes one worker's row; used from the committer thread only.

    Args:
        engine: the store's engine.
        client_id: the worker's MQTT client id (the row's key).
        interval_s: write at most this often unless the state changes.
    """

    def __init__(self, engine: Engine, client_id: str, interval_s: float) -> None:
        self.engine = engine
        self.client_id = client_id
        self.interval_s = interval_s
        self.started_at = utcnow()
        self._state: str | None = None
        self._state_since = self.started_at
        self._next = 0.0
        self._quiet_until = 0.0  # after a failed write, wait a little before the next try
        self.failures = 0

    def beat(self, state: str, *, in_hand: int, oldest_in_hand_at: datetime | None,
             counters: Counters, last_error: str | None = None, force: bool = False) -> bool:
        """Write the row if it is due (or the state changed, or ``force``); True if written."""
        now_mono = time.monotonic()
        changed = state != self._state
        if not force and (now_mono < self._quiet_until
                          or not (changed or now_mono >= self._next)):
            return False
        now = utcnow()
        if changed:
            self._state_since = now
        row = {"client_id": self.client_id, "host": socket.gethostname()[:255],
               "pid": os.getpid(), "started_at": self.started_at, "heartbeat_at": now,
               "state": state, "state_since": self._state_since, "in_hand": in_hand,
               "oldest_in_hand_at": oldest_in_hand_at,
               "last_error": last_error[:2000] if last_error else None, **asdict(counters)}
        try:
            with Session(self.engine) as session, session.begin():
                upsert(session, table_of(IngestWorkerRow), [row], key=["client_id"],
                       set_=lambda t, excluded: {c: excluded[c] for c in row
                                                 if c != "client_id"})
        except Exception as exc:  # never let the heartbeat stop the worker
            self.failures += 1
            log.debug("ingest worker %s: heartbeat not written: %s", self.client_id, exc)
            self._quiet_until = now_mono + min(self.interval_s, 2.0)
            return False
        self._state = state
        self._next = now_mono + self.interval_s
        return True


__all__ = ["Counters", "Heartbeat", "WorkerStateValue"]
