"""A loopback TCP proxy under a test's control: forward, or cut every connection.

Puts a fault between a client and a real server (PostgreSQL, a broker) without touching the
server: ``cut()`` closes every open connection and refuses new ones until ``restore()``.
Threads are owned and joined by ``stop()`` (use it as a context manager).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

from .net import free_port


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.setblocking(False)
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._cut = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"tcp-proxy-{self.port}",
                                        daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def cut(self) -> None:
        """Close every connection and refuse new ones."""
        with self._lock:
            self._cut = True
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.cut()
        self._listener.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._listener:
                        self._accept(selector, peers)
                        continue
                    self._pump(sock, selector, peers)
                # Forget sockets that cut() closed.
                for sock in [s for s in peers if s.fileno() == -1]:
                    peers.pop(sock, None)
                    with contextlib.suppress(KeyError, ValueError):
                        selector.unregister(sock)
        finally:
            selector.close()

    def _accept(self, selector: selectors.BaseSelector,
                peers: dict[socket.socket, socket.socket]) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        with self._lock:
            refused = self._cut
        if refused:
            _close(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _close(client)
            return
        client.setblocking(False)
        upstream.setblocking(False)
        with self._lock:
            self._pairs.append((client, upstream))
        peers[client], peers[upstream] = upstream, client
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)

    def _pump(self, sock: socket.socket, selector: selectors.BaseSelector,
              peers: dict[socket.socket, socket.socket]) -> None:
        other = peers.get(sock)
        try:
            data = sock.recv(65536)
            if data and other is not None:
                other.setblocking(True)
                other.sendall(data)
                other.setblocking(False)
                return
        except OSError:
            pass
        for s in (sock, other):
            if s is None:
                continue
            peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(s)
            _close(s)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
