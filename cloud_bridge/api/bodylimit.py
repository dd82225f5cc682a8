"""Protective ASGI middleware: request bodies over a size limit get 413 before the app reads
them, and every response carries the security headers.

A declared ``Content-Length`` over the limit is answered at once. A chunked body (no length
declared) is read here first, up to the limit, and handed to the app whole; past the limit it
is answered 413 without the app ever running. (Letting the app read it and raising from
``receive`` does not work: FastAPI turns any error while reading a body into its own 400.)
A body that outgrows its declared length on the way (which a server should not let happen) is
cut off with 413 too, and whatever the app answers after that is dropped. Pure ASGI, so it also
guards form posts.
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimitMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        chunked = False
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(send, 400, "bad_request", "Content-Length is not a number")
                    return
                if declared > self.max_bytes:
                    await self._too_large(send)
                    return
            elif name == b"transfer-encoding":
                chunked = True
        if chunked and declared is None:
            body = await self._read_up_to_limit(receive)
            if body is None:
                await self._too_large(send)
                return
            receive = _replay(body, receive)
        await self._counted(scope, receive, send)

    async def _read_up_to_limit(self, receive: Any) -> bytes | None:
        """The whole body, or None once it passes the limit (the rest is never read)."""
        parts: list[bytes] = []
        size = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to serve
                return b"".join(parts)
            part = message.get("body", b"")
            size += len(part)
            if size > self.max_bytes:
                return None
            parts.append(part)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _counted(self, scope: Scope, receive: Any, send: Any) -> None:
        seen = 0
        started = answered = False

        async def counted_receive() -> Message:
            nonlocal seen, answered
            message: Message = await receive()
            if message["type"] == "http.request" and not answered:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    answered = True
                    if not started:
                        await self._too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # we answered 413: the app's own answer to a cut-off body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _too_large(self, send: Any) -> None:
        await _reply(send, 413, "too_large", f"request body over {self.max_bytes} bytes")


def _replay(body: bytes, receive: Any) -> Any:
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _reply(send: Any, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Certificate tokens are in URLs: never send them on as a Referer.
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy",
     b"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
     b"frame-ancestors 'none'; base-uri 'none'"),
]


class SecurityHeaders:
    """ASGI middleware: the same protective headers on every response (pages and JSON)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
