"""The receipt printer: ESC/POS raster printing with a status check before and after.

Before a job the printer's real-time status is asked (where the transport can read): out of
paper, cover open or offline stop the job with a clear error before anything is printed. After
the job it is asked again, so paper that ran out mid-receipt is reported ("reprint"). A status
query that gets no answer is retried; a job is never re-sent automatically, because a printer
that took half of it has printed half a receipt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Self

from PIL import Image

from device_drivers.config import PrinterConfig
from device_drivers.errors import (
    DeviceError,
    PrinterOffline,
    PrinterOutOfPaper,
)
from device_drivers.health import Health, HealthState
from device_drivers.lifecycle import ContextManaged
from device_drivers.printer import escpos
from device_drivers.printer.escpos import PrinterStatus
from device_drivers.printer.receipt import ReceiptContent, render_receipt
from device_drivers.printer.transports import Transport

log = logging.getLogger(__name__)

LOAD_PAPER = "load a new 58 mm thermal paper roll, close the cover, then reprint"


class Printer(ContextManaged):
    """A thermal receipt printer speaking ESC/POS over some transport.

    Args:
        config: the printer's configuration.
        transport_factory: opens the transport (chosen by the factory from ``backend``).
    """

    def __init__(self, config: PrinterConfig,
                 transport_factory: Callable[[], Transport]) -> None:
        self.config = config
        self.backend = config.backend
        self._factory = transport_factory
        self._transport: Transport | None = None
        self._stale = False  # the printer stopped answering on this transport
        self.last_image: Image.Image | None = None
        # One conversation with the printer at a time: health checks run in worker threads
        # and may land during a print, where a status request inside the raster data would
        # spoil the receipt and answers would go to the wrong asker. Reentrant: printing
        # asks for status and may close the transport.
        self._io_lock = threading.RLock()

    def open(self) -> Self:
        """Open the transport; replace one on which the printer stopped answering."""
        with self._io_lock:
            if self._stale:
                self.close()
            if self._transport is None:
                self._transport = self._factory()
            return self

    def close(self) -> None:
        with self._io_lock:
            self._stale = False
            transport, self._transport = self._transport, None
            if transport is not None:
                transport.close()

    @property
    def paper_width(self) -> int:
        """Printable width in dots (384 on 58 mm paper)."""
        return self.config.paper_width_dots

    def _link(self) -> Transport:
        if self._transport is None:
            raise DeviceError("printer is not open", fix="call open() first")
        return self._transport

    # -- status ------------------------------------------------------------------------------

    def _ask(self, kind: int) -> int | None:
        link = self._link()
        for attempt in range(self.config.status_retries + 1):
            value = link.query(escpos.status_request(kind), self.config.status_timeout_s)
            if value is not None and escpos.is_status_byte(value):
                return value
            log.info("printer status %d: %s (try %d)", kind,
                     "no answer" if value is None else f"garbled 0x{value:02x}", attempt + 1)
        return None

    def status(self) -> PrinterStatus:
        """The printer's real-time status (``known=False`` when the transport cannot read).

        Raises:
            PrinterOffline: the printer does not answer status requests.
        """
        with self._io_lock:
            if not self._link().can_query:
                return PrinterStatus.unknown()
            answers = [self._ask(kind) for kind in (escpos.STATUS_PRINTER,
                                                    escpos.STATUS_OFFLINE_CAUSE,
                                                    escpos.STATUS_PAPER)]
            silent = any(a is None for a in answers)
            if silent:
                # The printer may be off or its link dead (a USB printer unplugged leaves a
                # dead handle): the next open() replaces the link.
                self._stale = True
        if silent:
            raise PrinterOffline(
                f"printer on {self.config.target or 'simulated'} does not answer status "
                "requests", fix="check that the printer is switched on and its cable is in")
        printer, cause, paper = (a for a in answers if a is not None)
        return PrinterStatus.from_bytes(printer, cause, paper)

    def _check_ready(self, when: str) -> None:
        status = self.status()
        if not status.known:
            return
        if status.paper == "out":
            raise PrinterOutOfPaper(f"printer is out of paper {when}", fix=LOAD_PAPER)
        if status.cover_open:
            raise PrinterOffline(f"printer cover is open {when}",
                                 fix="close the printer's cover, then reprint")
        if not status.online or status.error:
            raise PrinterOffline(f"printer reports itself offline {when}",
                                 fix="switch the printer off and on; if it stays offline, "
                                     "call a technician")

    # -- printing ----------------------------------------------------------------------------

    def print_image(self, image: Image.Image) -> None:
        """Print a 1-bit image (at most ``paper_width`` dots wide) and cut.

        Raises:
            ValueError: the image is too wide or not 1-bit.
            PrinterOutOfPaper: before printing, or paper ran out during it ("reprint").
            PrinterOffline: no answer, cover open, or the transport failed mid-job.
        """
        if image.mode != "1":
            raise ValueError(f"print_image takes a 1-bit image (mode '1'), not {image.mode!r}")
        if image.width > self.paper_width:
            raise ValueError(f"image is {image.width} dots wide; the paper takes "
                             f"{self.paper_width}")
        job = escpos.receipt_job(image, self.config.feed_lines, self.config.cut)
        with self._io_lock:
            self._check_ready("before printing")
            try:
                self._link().write(job)
            except DeviceError:
                self.close()  # the transport failed mid-job: the next open() makes a new one
                raise
            self.last_image = image
            self._check_ready("after printing: the receipt may be incomplete")

    def print_receipt(self, content: ReceiptContent) -> Image.Image:
        """Render ``content`` at this printer's paper width, print it, return the image."""
        image = render_receipt(content, width=self.paper_width)
        self.print_image(image)
        return image

    # -- health ------------------------------------------------------------------------------

    def health(self) -> Health:
        """Ask the printer's status and say what to do about it."""
        with self._io_lock:
            opened_here = self._transport is None
            try:
                if opened_here or self._stale:
                    self.open()
                status = self.status()
            except DeviceError as exc:
                return Health.from_error("printer", self.backend, exc)
            finally:
                if opened_here:
                    self.close()
        if not status.known:
            return Health.usable("printer", self.backend,
                                 f"writing to {self.config.target}; this transport cannot report "
                                 "paper or errors")
        if status.paper == "out":
            return Health("printer", self.backend, HealthState.FAULT, "out of paper", LOAD_PAPER)
        if status.cover_open or not status.online or status.error:
            return Health("printer", self.backend, HealthState.FAULT,
                          f"offline (cover open: {status.cover_open}, error: {status.error})",
                          "close the cover; switch the printer off and on")
        detail = "paper low: change the roll soon" if status.paper == "low" else "ready"
        return Health.usable("printer", self.backend, detail)
