"""Request plumbing shared by the routers: database sessions, who is calling, rate limits.

Two session factories: readers (plain transactions) and writers (on SQLite ``BEGIN
IMMEDIATE``, so two writers never deadlock upgrading their locks). On PostgreSQL both use the
same engine.

Rate limits on the public routes are ``ratelimit.PublicRateLimit`` (middleware).
Callers authenticate with ``Authorization: Bearer <key>``; the dashboard's pages also accept
its HttpOnly login cookie, which holds a session id (``registry.logins``), never the key.
``require(*roles)`` answers 401 without a valid key and 403 with a key of another role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from cloud_bridge.domain import logins
from cloud_bridge.domain.keys import Principal, authenticate
from cloud_bridge.patterns import CODE_PATTERN, DEVICE_ID_PATTERN, TOKEN_PATTERN
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.store.registry_models import Role

from .errors import ApiError

COOKIE = "nongan_session"
"""The dashboard's login cookie: a session id (``registry.logins``)."""


def readers(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def writers(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.writer_sessions
    return factory


def settings_of(request: Request) -> BridgeSettings:
    settings: BridgeSettings = request.app.state.settings
    return settings


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer``, if any."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


def presented_session(request: Request) -> str | None:
    """The dashboard's session id from its cookie, where the cookie counts.

    The cookie counts for reading, and for the dashboard's own forms (which carry a CSRF
    token); an API call that changes something must present the key in the header, so no other
    site can make a logged-in browser do it.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/dashboard/"):
        return request.cookies.get(COOKIE)
    return None


def principal(request: Request) -> Principal | None:
    """The caller, or None if no valid key (or open dashboard session) was presented."""
    cached: Principal | bool | None = getattr(request.state, "principal", False)
    if cached is not False:
        return cached if isinstance(cached, Principal) else None
    key = presented_key(request)
    session_id = None if key else presented_session(request)
    who = None
    if key or session_id:
        with readers(request)() as session:
            who = (authenticate(session, key) if key
                   else logins.principal_of(session, session_id or ""))
    request.state.principal = who
    return who


def require(*roles: str) -> Callable[[Request], Principal]:
    """A dependency that returns the caller if their key has one of ``roles``."""

    def dependency(request: Request) -> Principal:
        who = principal(request)
        if who is None:
            raise ApiError(401, "unauthorized", "a valid API key is required "
                           "(Authorization: Bearer <key>)")
        if not who.has(*roles):
            raise ApiError(403, "forbidden", f"this needs a {' or '.join(roles)} key; yours is "
                           f"a {who.role} key")
        return who

    return dependency


MarketKey = Annotated[Principal, Depends(require(Role.MARKET))]
SupervisorKey = Annotated[Principal, Depends(require(Role.SUPERVISOR))]
ReissuerKey = Annotated[Principal, Depends(require(Role.MARKET, Role.SUPERVISOR))]
OperatorKey = Annotated[Principal, Depends(require(Role.OPERATOR, Role.SUPERVISOR))]
AnyKey = Annotated[Principal, Depends(require(*Role.ALL))]


TokenPath = Annotated[str, Path(pattern=TOKEN_PATTERN, description="A certificate's public token.")]
ProducerPath = Annotated[str, Path(pattern=CODE_PATTERN)]
DevicePath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
