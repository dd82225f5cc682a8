"""A loopback HTTP file server with byte ranges, for download tests: it serves files from
memory with an ETag, answers ``Range: bytes=N-`` with 206 (and ``If-Range`` as RFC 9110 says:
a range only while the validator still matches), and can cut a response off after a number of
bytes, as a village link does. Every request is recorded."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """One request as the server saw it."""

    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int


@dataclass
class RangeServer:
    files: dict[str, bytes] = field(default_factory=dict)
    # path -> byte counts after which to cut successive responses off (consumed in order)
    cuts: dict[str, list[int]] = field(default_factory=dict)
    honour_ranges: bool = True
    requests: list[Served] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    @property
    def bytes_sent(self) -> int:
        return sum(r.sent for r in self.requests)


def _handler(server: RangeServer) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            data = server.files.get(self.path)
            range_h, if_range = self.headers.get("Range"), self.headers.get("If-Range")
            if data is None:
                self._finish(404, b"not found", {}, range_h, if_range)
                return
            start = 0
            status = 200
            etag = server.etag(self.path)
            if range_h and server.honour_ranges and (if_range is None or if_range == etag):
                first = range_h.removeprefix("bytes=").split("-", 1)[0]
                start = int(first)
                if start >= len(data):
                    self._finish(416, b"", {"Content-Range": f"bytes */{len(data)}"}, range_h,
                                 if_range)
                    return
                status = 206
            body = data[start:]
            headers = {"ETag": etag, "Accept-Ranges": "bytes"}
            if status == 206:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            with lock:
                cuts = server.cuts.get(self.path)
                cut = cuts.pop(0) if cuts else None
            self._finish(status, body, headers, range_h, if_range, cut=cut)

        def _finish(self, status: int, body: bytes, headers: dict[str, str],
                    range_h: str | None, if_range: str | None, cut: int | None = None) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if cut is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            payload = body if cut is None else body[:cut]
            self.wfile.write(payload)
            self.wfile.flush()
            with lock:
                server.requests.append(Served(self.path, range_h, if_range, status,
                                              len(payload)))
            if cut is not None:
                self.close_connection = True

    return Handler


@contextmanager
def range_server(files: dict[str, bytes] | None = None) -> Iterator[RangeServer]:
    """A running server on a free loopback port; stopped (threads joined) on exit."""
    state = RangeServer(files=dict(files or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = False
    httpd.block_on_close = True  # server_close() joins the request threads
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, name="range-server", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
