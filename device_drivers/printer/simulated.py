"""A simulated printer: the same ESC/POS bytes as a real one, kept in ``output``.

It answers real-time status requests from state a test drives: :meth:`run_out_of_paper`,
:meth:`paper_low`, :meth:`open_cover`, :meth:`go_offline` (no answers at all),
:meth:`run_out_during_next_job`, and :meth:`load_paper` to put things right.
"""

from __future__ import annotations

import threading

from PIL import Image

from device_drivers.config import PrinterConfig
from device_drivers.printer import escpos
from device_drivers.printer.base import Printer


class _SimTransport:
    can_query = True

    def __init__(self, printer: SimulatedPrinter) -> None:
        self._printer = printer

    def write(self, data: bytes) -> None:
        self._printer._receive(data)

    def query(self, request: bytes, timeout_s: float) -> int | None:
        return self._printer._answer(request)

    def close(self) -> None:
        pass


class SimulatedPrinter(Printer):
    """A printer that exists only in memory; its health says "simulated"."""

    def __init__(self, config: PrinterConfig) -> None:
        super().__init__(config, lambda: _SimTransport(self))
        self._lock = threading.Lock()
        self._output = bytearray()
        self.images: list[Image.Image] = []
        self.paper = "ok"
        self.cover = False
        self.offline = False
        self._out_after_job = False

    @property
    def output(self) -> bytes:
        """Every print job's bytes so far (status requests excluded)."""
        with self._lock:
            return bytes(self._output)

    def clear(self) -> None:
        with self._lock:
            self._output.clear()
            self.images.clear()

    def run_out_of_paper(self) -> None:
        self.paper = "out"

    def paper_low(self) -> None:
        self.paper = "low"

    def load_paper(self) -> None:
        self.paper = "ok"
        self.cover = False
        self.offline = False

    def open_cover(self) -> None:
        self.cover = True

    def go_offline(self) -> None:
        """Switched off or cable out: status requests get no answer."""
        self.offline = True

    def run_out_during_next_job(self) -> None:
        self._out_after_job = True

    def _receive(self, data: bytes) -> None:
        with self._lock:
            self._output += data
            if self._out_after_job:
                self._out_after_job = False
                self.paper = "out"

    def _answer(self, request: bytes) -> int | None:
        if self.offline or request[:2] != escpos.DLE + escpos.EOT:
            return None
        kind = request[2]
        value = 0b0001_0010
        if kind == escpos.STATUS_PRINTER and (self.cover or self.paper == "out"):
            value |= 0b0000_1000
        elif kind == escpos.STATUS_OFFLINE_CAUSE:
            if self.cover:
                value |= 0b0000_0100
            if self.paper == "out":
                value |= 0b0010_0000
        elif kind == escpos.STATUS_PAPER:
            if self.paper == "out":
                value |= 0b0110_0000
            elif self.paper == "low":
                value |= 0b0000_1100
        return value

    def print_image(self, image: Image.Image) -> None:
        super().print_image(image)
        self.images.append(image)
