"""Reading the lot outcomes the cloud recorded (its ``lots`` table), to check the demo end to
end.

The cloud's ingest writes one ``lots`` row per ``event/lot`` record it commits, with the
outcome's wire value (``LotOutcome.value``); a session whose certificate was voided and issued
again has two, and its latest (highest seq) is the lot's outcome. The demo, being the
composition root, reads that table directly.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cloud_bridge.store import Lot, session_factory


def lot_outcomes_in_cloud(engine: Engine) -> dict[str, str]:
    """{session_id: outcome} of every lot the cloud has committed (its latest event)."""
    with session_factory(engine)() as session:
        rows = session.execute(select(Lot.session_id, Lot.outcome)
                               .order_by(Lot.device_id, Lot.seq)).all()
    return {session_id: outcome for session_id, outcome in rows}
