"""A loopback TCP proxy that drops, delays and black-holes connections on a test's command.

Modes, switchable at any time from any thread:

- ``forward``: bytes pass, each chunk held back by ``delay_s`` (a slow link's one-way delay:
  a round trip costs twice that);
- ``cut()``: every connection is closed at once and new ones are refused (a cable pulled);
- ``blackhole()``: connections stay open but nothing passes either way and new connections
  hang (a dead route: only keepalives can notice);
- ``restore()``: back to forwarding.

It runs its own asyncio loop in one thread, owned and joined by ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from .net import free_port


class ChaosProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", *,
                 delay_s: float = 0.0) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.delay_s = delay_s
        self.mode = "forward"
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=f"chaos-proxy-{self.port}",
                                        daemon=True)
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ control

    def __enter__(self) -> ChaosProxy:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("chaos proxy did not start")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def cut(self) -> None:
        self.mode = "cut"
        self._call(self._close_all)

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def restore(self) -> None:
        if self.mode == "blackhole":
            # Connections that were black-holed have lost bytes: they are dead, close them.
            self._call(self._close_all)
        self.mode = "forward"

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown)
        self._thread.join(5)

    def _call(self, fn: object) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(fn(), self._loop)  # type: ignore[operator]
        future.result(5)

    # ------------------------------------------------------------------ the loop

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._close_all()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loop.call_soon(self._loop.stop)

    async def _close_all(self) -> None:
        writers, self._writers = self._writers, set()
        for writer in writers:
            with contextlib.suppress(Exception):
                writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.transport.abort()
            return
        while self.mode == "blackhole":  # a dead route: the connection hangs
            await asyncio.sleep(0.05)
            if writer.transport.is_closing():
                return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update({writer, up_writer})
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.mode == "forward":
                    writer.write(chunk)
                    await writer.drain()

        sender = asyncio.create_task(deliver())
        try:
            while chunk := await reader.read(65536):
                if self.mode == "forward":
                    queue.put_nowait((self._loop.time() + self.delay_s, chunk))
                # blackhole: the bytes are swallowed
        except (ConnectionError, OSError):
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await sender
            writer.transport.abort()
