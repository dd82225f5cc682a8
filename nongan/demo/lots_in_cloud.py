"""Reading the lot outcomes the cloud recorded (its ledger), to check the demo end to end.

The cloud has no lot API yet; the demo, being the composition root, reads the ledger table
directly: each ``event/lot`` record's signed payload holds the session and its outcome.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cloud_bridge.store import session_factory
from cloud_bridge.store.models import LedgerRecord


def lot_outcomes_in_cloud(engine: Engine) -> dict[str, str]:
    """{session_id: outcome} of every lot event the cloud has committed (the latest wins)."""
    outcomes: dict[str, str] = {}
    with session_factory(engine)() as session:
        rows = session.execute(
            select(LedgerRecord.payload).where(LedgerRecord.kind == "lot")
            .order_by(LedgerRecord.device_id, LedgerRecord.seq)
        ).scalars()
        for payload in rows:
            body = json.loads(payload)
            outcomes[body["session_id"]] = body["outcome"]
    return outcomes
