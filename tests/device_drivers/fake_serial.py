"""A scripted stand-in for a pyserial port: each line the host writes goes to a responder,
whose bytes the host then reads. For host-driver tests that need exact control of the line."""

from __future__ import annotations

from collections.abc import Callable


class FakeSerial:
    def __init__(self, respond: Callable[[bytes], bytes]) -> None:
        self._respond = respond
        self._rx = bytearray()
        self.written: list[bytes] = []
        self.is_open = True

    @property
    def in_waiting(self) -> int:
        return len(self._rx)

    def write(self, data: bytes) -> int:
        self.written.append(bytes(data))
        self._rx += self._respond(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        self._rx.clear()

    def feed(self, data: bytes) -> None:
        """Bytes arriving on their own (events, noise)."""
        self._rx += data

    def read(self, size: int = 1) -> bytes:
        data = bytes(self._rx[:size])
        del self._rx[:size]
        return data

    def close(self) -> None:
        self.is_open = False
