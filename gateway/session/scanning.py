"""Feeding the QR scanner to the session: a card scanned at any time identifies its producer.

The scanner is read in a worker thread in short waits (so cancelling the loop is quick),
each under ``KioskDevices.scanner_lock``, so a technician's path in this process (scanning kit
boxes) can take the scanner between two waits. Half a code becomes a notice asking to scan
again, never a guess.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from device_drivers import DeviceError, IncompleteScan, Scanner

from .actions import WrongStep
from .machine import KioskSession

log = logging.getLogger(__name__)

POLL_S = 0.5


def _read_once(scanner: Scanner, lock: threading.Lock) -> str | None:
    if not lock.acquire(timeout=POLL_S):
        return None  # someone else is scanning (a technician): try again later
    try:
        return scanner.read_code(POLL_S)
    finally:
        lock.release()


async def feed_scanner(scanner: Scanner, session: KioskSession,
                       lock: threading.Lock | None = None) -> None:
    """Run until cancelled: every whole code goes to ``session.scan``."""
    lock = lock or threading.Lock()
    if not scanner.is_open:
        await asyncio.to_thread(scanner.open)
    while True:
        try:
            code = await asyncio.to_thread(_read_once, scanner, lock)
        except IncompleteScan as exc:
            log.info("half a scan: %s", exc)
            session.scan_failed()
            continue
        except DeviceError as exc:
            # A scanner that went away: say so once per minute, keep the kiosk running
            # (cards can still be replaced by the name list and PIN).
            log.error("scanner: %s", exc)
            await asyncio.sleep(60)
            continue
        if code is None:
            continue
        try:
            await session.scan(code)
        except WrongStep:
            log.info("a code was scanned on the %s screen; ignored", session.step.value)
