"""Reading the lot outcomes the cloud recorded (its ``lots`` table), to check the demo end to
end.

The cloud's ingest writes one ``lots`` row per ``event/lot`` record it commits (a kiosk
closes each session's lot once), with the outcome's wire value (``LotOutcome.value``); the
demo, being the composition root, reads that table directly.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from cloud_bridge.store import Lot, session_factory


def lot_outcomes_in_cloud(engine: Engine) -> dict[str, str]:
    """{session_id: outcome} of every lot event the cloud has committed."""
    with session_factory(engine)() as session:
        rows = session.execute(select(Lot.session_id, Lot.outcome)).all()
    return {session_id: outcome for session_id, outcome in rows}
