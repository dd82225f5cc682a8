"""Helpers for API tests: an app on the test store, keys of every role, recorded messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud_bridge.api import create_app
from cloud_bridge.domain.keys import create_key
from cloud_bridge.ingest import BatchWriter, Inbound
from cloud_bridge.settings import load_settings
from cloud_bridge.store import session_factory
from tests.support import cloud_key

Message = tuple[str, bytes]


@dataclass
class Keys:
    operator: str
    supervisor: str
    market: str

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


def make_keys(engine: Engine) -> Keys:
    with session_factory(engine).begin() as session:
        _, op = create_key(session, name="op-1", role="operator", actor="test")
        _, sup = create_key(session, name="sup-1", role="supervisor", actor="test")
        _, mk = create_key(session, name="mk-1", role="market", market="长春农贸市场",
                           actor="test")
    return Keys(op, sup, mk)


@contextmanager
def api_client(engine: Engine, **api: Any) -> Iterator[TestClient]:
    # TestClient speaks plain http to "testserver": a Secure cookie would not come back.
    settings = load_settings(None, api={"public_rate_per_minute": 0, "secure_cookies": False,
                                        **api},
                             signing={"key_file": str(cloud_key.key_file())})
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        yield c


def record(writer: BatchWriter, *messages: Message) -> None:
    now = datetime.now(UTC)
    result = writer.write([Inbound(t, p, i, 1, now) for i, (t, p) in enumerate(messages)])
    assert all(v.rejection is None for v in result.verdicts), result.verdicts


def token_of(message: Message) -> str:
    return str(json.loads(message[1])["body"]["certificate"]["token"])
