"""Dashboard logins: the cookie holds a random session id, never the API key.

Logging in with a key makes a row in ``dashboard_sessions`` keyed by the SHA-256 of a new
256-bit id; the browser keeps only the id. So a stolen cookie (a shared computer, a proxy log)
never reveals the key, it stops working at logout (the row is deleted), when the key is revoked
(the lookup joins the key) and after ``LIFETIME`` (12 hours), whichever comes first. Expired
rows are deleted at the next login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cloud_bridge.store.registry_models import ApiKey, DashboardSession
from cloud_bridge.store.types import utcnow

from .keys import Principal, hash_key

LIFETIME = timedelta(hours=12)
_ID_LENGTH = 43  # secrets.token_urlsafe(32)


def _hash(session_id: str) -> str:
    return hashlib.sha256(b"dashboard-session:" + session_id.encode("ascii", "replace")
                          ).hexdigest()


def open_session(session: Session, key: str, *, now: datetime | None = None
                 ) -> tuple[str, Principal] | None:
    """Log in with ``key``: a new session id (for the cookie) and who it is; None for a key
    that is unknown, revoked or malformed."""
    now = now or utcnow()
    if len(key) > 200:
        return None
    row = session.execute(
        select(ApiKey.id, ApiKey.name, ApiKey.role, ApiKey.market)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))).first()
    if row is None:
        return None
    session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(DashboardSession(id_hash=_hash(session_id), key_id=row.id, created_at=now,
                                 expires_at=now + LIFETIME))
    return session_id, Principal(row.name, row.role, row.market)


def principal_of(session: Session, session_id: str, *, now: datetime | None = None
                 ) -> Principal | None:
    """Who a session id belongs to, while it is open, unexpired and its key not revoked."""
    if len(session_id) != _ID_LENGTH:
        return None
    row = session.execute(
        select(ApiKey.name, ApiKey.role, ApiKey.market)
        .join(DashboardSession, DashboardSession.key_id == ApiKey.id)
        .where(DashboardSession.id_hash == _hash(session_id),
               DashboardSession.expires_at > (now or utcnow()),
               ApiKey.revoked_at.is_(None))).first()
    return Principal(row.name, row.role, row.market) if row is not None else None


def close_session(session: Session, session_id: str) -> bool:
    """Log out: the id stops working at once. Returns whether it was open."""
    result = session.execute(delete(DashboardSession)
                             .where(DashboardSession.id_hash == _hash(session_id)))
    return bool(result.rowcount)  # type: ignore[attr-defined]
