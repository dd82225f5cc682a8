"""A simulated scanner driven from tests and the demo: ``scan("...")`` as a person would."""

from __future__ import annotations

import queue

from device_drivers.config import ScannerConfig
from device_drivers.scanner.base import Scanner


class SimulatedScanner(Scanner):
    """A scanner that exists only in memory; its health says "simulated"."""

    backend = "simulated"

    def __init__(self, config: ScannerConfig) -> None:
        super().__init__(config)
        self._chars: queue.SimpleQueue[str] = queue.SimpleQueue()

    def scan(self, code: str) -> None:
        """A whole code, with its end-of-code."""
        self.send(code + "\n")

    def scan_partial(self, text: str) -> None:
        """The start of a code and then nothing (the scanner was moved away mid-read)."""
        self.send(text)

    def send(self, text: str) -> None:
        """Raw characters, "\\n" being the end-of-code."""
        for ch in text:
            self._chars.put(ch)

    def _open(self) -> None:
        pass

    def _close(self) -> None:
        pass

    def _next_char(self, timeout_s: float) -> str | None:
        try:
            return self._chars.get(timeout=timeout_s) if timeout_s > 0 else self._chars.get_nowait()
        except queue.Empty:
            return None
