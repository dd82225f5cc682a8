"""API keys for operators, supervisors and markets: made once, shown once, stored hashed.

A key is 256 random bits (``ng_`` + base64url). Only its SHA-256 is stored: a key of that
entropy cannot be guessed from its hash, so a slow password hash would buy nothing but a slower
API. Looking a key up by its hash is one indexed query. Keys are revoked, never deleted, and
every creation and revocation is in the history.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud_bridge.store.registry_models import ApiKey, Role
from cloud_bridge.store.types import utcnow

from .errors import Conflict, NotFound, Refused
from .history import log_change

KEY_PREFIX = "ng_"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,100}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name, its role, and for a market key the market's name."""

    name: str
    role: str
    market: str | None = None

    def has(self, *roles: str) -> bool:
        return self.role in roles


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(session: Session, *, name: str, role: str, market: str | None = None,
               actor: str) -> tuple[ApiKey, str]:
    """Make a key; returns the row and the key itself (shown once, never stored).

    Raises:
        Refused: a bad name or role, or a market key without a market.
        Conflict: a key of that name exists.
    """
    if not _NAME_RE.match(name):
        raise Refused("bad_name", "a key name is 2-100 letters, digits or _ . @ -")
    if role not in Role.ALL:
        raise Refused("bad_role", f"role must be one of {', '.join(Role.ALL)}")
    if role == Role.MARKET and not (market and market.strip()):
        raise Refused("market_required", "a market key needs the market's name")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise Conflict("name_taken", f"a key named {name!r} exists already")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, market=market.strip() if market else None,
                 key_hash=hash_key(key), created_at=utcnow(), created_by=actor)
    session.add(row)
    session.flush()
    log_change(session, entity="api_key", entity_id=name, action="created", actor=actor,
               data={"role": role, "market": row.market})
    return row, key


def revoke_key(session: Session, name: str, *, actor: str) -> ApiKey:
    """Revoke a key by name (it stops working at once).

    Raises:
        NotFound: no such key. Conflict: already revoked.
    """
    row = session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFound("no_such_key", f"no key named {name!r}")
    if row.revoked_at is not None:
        raise Conflict("already_revoked", f"key {name!r} is already revoked")
    row.revoked_at = utcnow()
    log_change(session, entity="api_key", entity_id=name, action="revoked", actor=actor)
    return row


def authenticate(session: Session, key: str) -> Principal | None:
    """The principal of a presented key, or None (unknown, revoked or malformed)."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    row = session.execute(
        select(ApiKey.name, ApiKey.role, ApiKey.market)
        .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    ).first()
    return Principal(row.name, row.role, row.market) if row is not None else None


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.name)))
