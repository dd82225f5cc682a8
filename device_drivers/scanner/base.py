"""The QR scanner interface: one whole code at a time, or a clear error — never half a code.

A backend implements ``_open``, ``_close`` and ``_next_char(timeout_s)`` (one character, "\\n"
for the scanner's end-of-code, or None when nothing came in time). This class assembles codes:
the first character may take as long as the caller waits, each further one must follow within
``char_timeout_s`` (scanners send a code in a few milliseconds), and the code must be printable,
not too long, and match the caller's pattern if one is given. The one control character let
through is GS (0x1d), which GS1 codes use to end a variable-length field.
"""

from __future__ import annotations

import contextlib
import re
import time
from abc import abstractmethod
from typing import Self

from device_drivers.config import ScannerConfig
from device_drivers.errors import DeviceAbsent, DeviceError, IncompleteScan
from device_drivers.health import Health
from device_drivers.lifecycle import OpenClose

GS = "\x1d"
SCAN_AGAIN = "scan the code again, holding it steady until the scanner beeps"


class Scanner(OpenClose):
    """The QR scanner. Open it (or use ``with``), then :meth:`read_code`."""

    backend: str = "?"

    def __init__(self, config: ScannerConfig) -> None:
        self.config = config
        # The scanner went away while open: it was closed, and the next read (or health check)
        # opens it again, so a scanner plugged back in works without restarting the kiosk.
        self._lost = False

    def open(self) -> Self:
        super().open()
        self._lost = False
        return self

    def close(self) -> None:
        self._lost = False
        super().close()

    def _went_away(self) -> None:
        """Drop the dead handle; the next read_code or health() reopens the scanner."""
        with contextlib.suppress(OSError):
            self.close()
        self._lost = True

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _next_char(self, timeout_s: float) -> str | None:
        """One character ("\\n" ends a code), or None if none arrived within ``timeout_s``."""

    def read_code(self, timeout_s: float, pattern: str | re.Pattern[str] | None = None
                  ) -> str | None:
        """Wait up to ``timeout_s`` for a code; None if nobody scanned anything.

        Args:
            timeout_s: how long to wait for the first character.
            pattern: if given, the whole code must match it (e.g. the kit-box QR format).

        Raises:
            IncompleteScan: part of a code (no end-of-code in time), unprintable characters,
                too long, or not matching ``pattern``.
            DeviceAbsent: the scanner went away (it is closed; the next call opens it again).
        """
        if not self._opened:
            if not self._lost:
                raise DeviceError("scanner is not open", fix="call open() first")
            try:
                self.open()  # it went away earlier: DeviceAbsent again while it is still gone
            except DeviceError:
                self._lost = True
                raise
        try:
            code = self._read_code(timeout_s)
        except DeviceAbsent:
            self._went_away()
            raise
        if code is not None:
            self._validate(code, pattern)
        return code

    def _read_code(self, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while True:
            first = self._next_char(max(0.0, deadline - time.monotonic()))
            if first is None:
                return None
            if first != "\n":  # a lone end-of-code is not a scan
                break
        return self._rest_of_code(first)

    def _rest_of_code(self, first: str) -> str:
        chars = [first]
        while True:
            ch = self._next_char(self.config.char_timeout_s)
            if ch is None:
                raise IncompleteScan(
                    f"scanner sent {_show(''.join(chars))} without an end-of-code within "
                    f"{self.config.char_timeout_s:g} s (half a code)", fix=SCAN_AGAIN)
            if ch == "\n":
                return "".join(chars)
            chars.append(ch)
            if len(chars) > self.config.max_length:
                self._drain()
                raise IncompleteScan(
                    f"scanner sent more than {self.config.max_length} characters without an "
                    "end-of-code", fix=SCAN_AGAIN)

    def _drain(self) -> None:
        while self._next_char(self.config.char_timeout_s) not in (None, "\n"):
            pass

    @staticmethod
    def _validate(code: str, pattern: str | re.Pattern[str] | None) -> None:
        # GS (0x1d) is the FNC1 separator of GS1 codes (kit boxes): the one control character
        # a code may carry.
        if not code.replace(GS, "").isprintable():
            raise IncompleteScan(f"scanner sent unprintable characters: {_show(code)}",
                                 fix=SCAN_AGAIN)
        if pattern is not None and re.fullmatch(pattern, code) is None:
            raise IncompleteScan(f"scanned {_show(code)}, which is not a code this kiosk "
                                 "knows (cut short, or another kind of code)",
                                 fix="scan the right code (producer card or kit box)")

    def health(self) -> Health:
        """Whether the scanner can be opened (a scanner cannot be asked anything more)."""
        if not self._opened:
            lost = self._lost
            try:
                self.open()
            except DeviceError as exc:
                self._lost = lost
                return Health.from_error("scanner", self.backend, exc)
            if not lost:  # a scanner that came back stays open for the reads that follow
                self.close()
        return Health.usable("scanner", self.backend,
                             f"{self.config.target or 'simulated'} open; scan a code to test it")


def _show(text: str, limit: int = 40) -> str:
    shown = text if len(text) <= limit else text[:limit] + "…"
    return repr(shown)
