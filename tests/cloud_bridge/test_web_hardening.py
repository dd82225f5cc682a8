"""The API's protective edges on a real uvicorn server (issue 11): a chunked body over the
limit is 413 (not 400), a 429 carries the security headers, and the dashboard cookie holds a
session id (never the API key), Secure by default, ended by logout, key revocation and time."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, update

from cloud_bridge.api import create_app
from cloud_bridge.domain.keys import revoke_key
from cloud_bridge.ingest import BatchWriter
from cloud_bridge.settings import load_settings
from cloud_bridge.store import session_factory
from cloud_bridge.store.registry_models import DashboardSession
from cloud_bridge.store.types import utcnow
from tests.support.cloud import scalar
from tests.support.kiosk_messages import FakeKiosk
from tests.support.live_server import live_server

from .api_support import Keys, record, token_of

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy",
                    "content-security-policy")


@pytest.fixture
def server(store: Engine) -> Iterator[str]:
    settings = load_settings(None, api={"public_rate_per_minute": 60, "public_burst": 2})
    with live_server(create_app(settings, engine=store)) as base:
        yield base


def request(base: str, method: str, path: str, *, body: Any = None,
            headers: dict[str, str] | None = None, chunked: bool = False
            ) -> tuple[int, dict[str, str], bytes]:
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, \
            response.read()
    finally:
        conn.close()


def chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    yield b'{"result": "accepted", "reason": "'
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size
    yield b'"}'


def test_a_chunked_body_over_the_limit_is_413_and_a_small_one_is_served(
    server: str, keys: Keys, kiosk: FakeKiosk, writer: BatchWriter, store: Engine
) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    path = f"/api/v1/certificates/{token_of(cert)}/checks"
    headers = {**keys.auth("market"), "Content-Type": "application/json"}
    status, head, body = request(server, "POST", path, body=chunks(70 * 1024),
                                 headers=headers, chunked=True)
    assert status == 413, body
    assert b'"too_large"' in body
    assert all(name in head for name in SECURITY_HEADERS)
    # The dashboard's login form too (a form post, chunked).
    form = iter([b"key=", b"x" * (70 * 1024)])
    status, _, _ = request(server, "POST", "/dashboard/login", body=form, chunked=True,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    small = iter([b'{"result": ', b'"accepted"}'])
    status, _, body = request(server, "POST", path, body=small, headers=headers, chunked=True)
    assert status == 201, body
    assert scalar(store, "SELECT count(*) FROM market_checks") == 1


def test_a_429_carries_the_security_headers(server: str, kiosk: FakeKiosk,
                                            writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    record(writer, cert)
    for path in (f"/c/{token_of(cert)}", f"/api/v1/certificates/{token_of(cert)}"):
        answers = [request(server, "GET", path) for _ in range(4)]
        limited = [head for status, head, _ in answers if status == 429]
        assert limited, [status for status, _, _ in answers]
        for head in limited:
            assert all(name in head for name in SECURITY_HEADERS), head
            assert head["referrer-policy"] == "no-referrer" and "retry-after" in head


def login(server: str, key: str) -> str:
    status, head, _ = request(server, "POST", "/dashboard/login", body=f"key={key}",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and head["location"] == "/dashboard"
    return head["set-cookie"]


def cookie_value(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0]


def dashboard(server: str, cookie: str) -> int:
    return request(server, "GET", "/dashboard", headers={"Cookie": cookie})[0]


def test_the_dashboard_cookie_is_a_secure_session_id_never_the_key(
    server: str, keys: Keys, store: Engine
) -> None:
    set_cookie = login(server, keys.operator)
    attributes = set_cookie.lower()
    assert "httponly" in attributes and "samesite=strict" in attributes
    assert "secure" in attributes  # the default: the browser sends it over HTTPS only
    cookie = cookie_value(set_cookie)
    assert keys.operator not in set_cookie and keys.operator[3:20] not in cookie
    assert dashboard(server, cookie) == 200
    # Logging out ends the session on the server: the same cookie no longer opens anything.
    status, _, _ = request(server, "POST", "/dashboard/logout", headers={"Cookie": cookie})
    assert status == 303
    assert dashboard(server, cookie) == 303
    assert scalar(store, "SELECT count(*) FROM dashboard_sessions") == 0


def test_a_revoked_key_and_time_end_dashboard_sessions(server: str, keys: Keys,
                                                       store: Engine) -> None:
    operator = cookie_value(login(server, keys.operator))
    supervisor = cookie_value(login(server, keys.supervisor))
    assert dashboard(server, operator) == dashboard(server, supervisor) == 200
    with session_factory(store).begin() as session:
        revoke_key(session, "op-1", actor="test")
    assert dashboard(server, operator) == 303
    with session_factory(store).begin() as session:
        session.execute(update(DashboardSession).values(expires_at=utcnow() - timedelta(
            seconds=1)))
    assert dashboard(server, supervisor) == 303


def test_secure_cookies_is_the_default() -> None:
    assert load_settings(None).api.secure_cookies is True


def test_a_500_carries_the_security_headers_too(server: str, monkeypatch: pytest.MonkeyPatch,
                                                kiosk: FakeKiosk, writer: BatchWriter) -> None:
    import cloud_bridge.api.public as public

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(public, "lookup", broken)
    status, head, body = request(server, "GET", f"/api/v1/certificates/{kiosk.new_token()}")
    assert status == 500 and b"Traceback" not in body
    assert all(name in head for name in SECURITY_HEADERS), head
