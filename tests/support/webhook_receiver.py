"""A real HTTP server that receives webhooks and checks their signatures itself.

The check is written here from the documented format (docs/cloud.md, "Webhooks"), not with
``cloud_bridge.notify.webhook.verify``, so a change to the sender that breaks the contract
fails these tests. It answers 401 to a bad signature or a stale timestamp, 200 without acting
again to a delivery id it has seen (a replay, or our at-least-once resend), and a status chosen
by the test otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    def __init__(self, secret: str, *, window_s: float = 300) -> None:
        self.secret = secret.encode()
        self.window_s = window_s
        self.answer = 204
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.duplicates: list[str] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, why = receiver.check(dict(self.headers.items()), body)
                self.send_response(status)
                self.end_headers()
                self.wfile.write(why.encode())

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook-rx",
                                       daemon=True)

    def check(self, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        stamp = headers.get("X-Nongan-Timestamp", "")
        signature = headers.get("X-Nongan-Signature", "")
        delivery = headers.get("X-Nongan-Delivery", "")
        expected = "sha256=" + hmac.new(self.secret, stamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()
        with self.lock:
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > self.window_s:
                self.refused.append("stale")
                return 401, "stale"
            if not hmac.compare_digest(expected, signature):
                self.refused.append("signature")
                return 401, "bad signature"
            if delivery in self.seen:
                self.duplicates.append(delivery)
                return 200, "seen before"
            if self.answer >= 300:
                return self.answer, "as told"
            self.seen.add(delivery)
            self.accepted.append({"headers": headers, "json": json.loads(body)})
            return self.answer, ""

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
