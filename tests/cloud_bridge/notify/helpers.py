"""Small helpers shared by the notification tests that use the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from cloud_bridge.notify import NotifyWorker, set_contact
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.store import Escalation, Notification, session_factory

from .conftest import Clock


def contact(engine: Engine, name: str, clock: Clock, **fields: Any) -> None:
    with session_factory(engine).begin() as session:
        set_contact(session, name, actor="test", now=clock(), **fields)


def notifications(engine: Engine, **where: Any) -> list[Notification]:
    with session_factory(engine)() as session:
        query = select(Notification).order_by(Notification.id)
        for column, value in where.items():
            query = query.where(getattr(Notification, column) == value)
        return list(session.scalars(query))


def escalation(engine: Engine, kind: str, subject: str) -> Escalation:
    with session_factory(engine)() as session:
        row = session.scalar(select(Escalation).where(Escalation.kind == kind,
                                                      Escalation.subject == subject))
        assert row is not None
        return row


def worker(settings: BridgeSettings, engine: Engine, clock: Callable[[], datetime],
           **kw: Any) -> NotifyWorker:
    import random

    return NotifyWorker(settings, engine, clock=clock, rng=random.Random(7), **kw)
