"""The append-only history of cloud-side state changes: who did what to which thing, and why.

Kiosk-side changes (issue, void, register a producer, a lot's outcome) are the ledger itself:
signed, immutable rows. Everything the cloud changes (a revocation, a market check, a re-issue,
an enrolment, a retirement, an API key, a producer's registry entry, a pruning run) adds one
``history`` row here. Rows are never updated (a database trigger refuses UPDATE); only the
retention job deletes old ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloud_bridge.store.registry_models import HistoryEntry
from cloud_bridge.store.types import utcnow


def log_change(
    session: Session,
    *,
    entity: str,
    entity_id: str,
    action: str,
    actor: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one history row in the caller's transaction.

    Args:
        entity: what kind of thing changed (``certificate``, ``device``, ``api_key``, ...).
        entity_id: its id (certificate token, device id, key name, ...).
        action: what happened (``revoked``, ``checked``, ``enrolled``, ...).
        actor: who did it: an API key's name, ``cli:<user>``, ``ingest:<device>``.
        reason: why, in the actor's words (required for revocations).
        data: any detail worth keeping (JSON).
        at: when (default now, cloud clock).
    """
    session.add(HistoryEntry(at=at or utcnow(), entity=entity, entity_id=entity_id[:100],
                             action=action, actor=actor[:100], reason=reason, data=data))
