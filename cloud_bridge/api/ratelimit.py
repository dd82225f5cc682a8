"""A token bucket per client address for the public endpoints (QR scans can be scripted).

Each client may make ``burst`` requests at once and ``rate_per_minute`` on average. Buckets live
in this process (each API process limits on its own; behind a reverse proxy with several
processes the effective limit is that many times higher, which docs/operations.md says). The
table is bounded: the least recently used buckets are dropped past ``max_clients``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class TokenBucket:
    """Per-key token buckets.

    Args:
        rate_per_minute: tokens added per minute (0 disables the limit).
        burst: bucket size.
        clock: monotonic seconds (tests pass a fake).
    """

    def __init__(self, rate_per_minute: float, burst: int, *, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 if allowed, else the seconds until one is free."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


def client_address(peer: str | None, forwarded_for: str | None, trusted: set[str]) -> str:
    """The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For when
    the peer is a trusted reverse proxy (a client cannot forge its way past the proxy)."""
    peer = peer or "unknown"
    if peer not in trusted or not forwarded_for:
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


PUBLIC_PREFIXES = ("/c/", "/api/v1/certificates/")
_PAGE = ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>429</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head><body>"
         "<main><section class=\"status status-missing\" data-status=\"rate_limited\">"
         "<div class=\"status-word\">请求过于频繁，请稍后再试。</div>"
         "<div class=\"status-note\">Too many requests; please try again shortly.</div>"
         "</section></main></body></html>").encode()


class PublicRateLimit:
    """ASGI middleware: the token bucket on the public GETs (a QR scan's page and JSON).

    Middleware rather than a FastAPI dependency: it costs a few microseconds, not the ~100 µs
    of dependency resolution, on the busiest route. Answers 429 with Retry-After, as a page
    for ``/c/`` and as JSON for the API.
    """

    def __init__(self, app: Any, bucket: TokenBucket, trusted: set[str]) -> None:
        self.app = app
        self.bucket = bucket
        self.trusted = trusted

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or not self.bucket.enabled or scope["method"] != "GET"
                or not scope["path"].startswith(PUBLIC_PREFIXES)):
            await self.app(scope, receive, send)
            return
        forwarded = None
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded = value.decode("latin-1")
        client = scope.get("client")
        wait = self.bucket.take(client_address(client[0] if client else None, forwarded,
                                               self.trusted))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        page = scope["path"].startswith("/c/")
        body = _PAGE if page else json.dumps({
            "error": "rate_limited", "detail": "too many requests; try again shortly"}).encode()
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", b"text/html; charset=utf-8" if page else b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, round(wait))).encode())]})
        await send({"type": "http.response.body", "body": body})
