"""A fake ESC/POS printer on a pseudo-terminal: it parses the byte stream command by command
(so a malformed job fails the test), answers DLE EOT status requests from its state, and keeps
the raster images it was sent."""

from __future__ import annotations

import os
import select

import numpy as np
from PIL import Image

from tests.support.pty_device import PtyDevice


class FakeEscPosPrinter(PtyDevice):
    def __init__(self) -> None:
        super().__init__("fake-printer")
        self.paper = "ok"
        self.cover_open = False
        self.silent = False  # switched off: no status answers
        self.garble_next = 0  # answer this many status requests with a non-status byte
        self.out_after_bytes: int | None = None  # paper runs out after this many job bytes
        self.jobs_bytes = bytearray()
        self.images: list[Image.Image] = []
        self.commands: list[str] = []
        self.errors: list[str] = []
        self._buf = bytearray()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                self._buf += os.read(self.master, 65536)
            except OSError:
                continue
            self._parse()

    def _status(self, kind: int) -> int:
        value = 0b0001_0010
        out = self.paper == "out"
        if kind == 1 and (out or self.cover_open):
            value |= 0b0000_1000
        elif kind == 2:
            value |= (0b0000_0100 if self.cover_open else 0) | (0b0010_0000 if out else 0)
        elif kind == 4:
            value |= 0b0110_0000 if out else (0b0000_1100 if self.paper == "low" else 0)
        return value

    def _parse(self) -> None:
        buf = self._buf
        while buf:
            if buf[:2] == b"\x10\x04":
                if len(buf) < 3:
                    return
                kind = buf[2]
                del buf[:3]
                self.commands.append(f"DLE EOT {kind}")
                if self.silent:
                    continue
                if self.garble_next:
                    self.garble_next -= 1
                    os.write(self.master, b"\xff")
                    continue
                os.write(self.master, bytes([self._status(kind)]))
                continue
            if buf[:2] == b"\x1b@":
                self._consume(2, "ESC @")
            elif buf[:2] == b"\x1bd":
                if len(buf) < 3:
                    return
                self._consume(3, f"ESC d {buf[2]}")
            elif buf[:2] == b"\x1dV":
                if len(buf) < 3:
                    return
                self._consume(3, f"GS V {buf[2]}")
            elif buf[:3] == b"\x1dv0":
                if len(buf) < 8:
                    return
                width_bytes = int.from_bytes(buf[4:6], "little")
                rows = int.from_bytes(buf[6:8], "little")
                end = 8 + width_bytes * rows
                if len(buf) < end:
                    return
                bits = np.unpackbits(np.frombuffer(bytes(buf[8:end]), np.uint8))
                self.images.append(Image.fromarray(
                    ~bits.reshape(rows, width_bytes * 8).astype(bool)))
                self._consume(end, f"GS v 0 {width_bytes}x{rows}")
            else:
                self.errors.append(f"unknown command at {bytes(buf[:4])!r}")
                buf.clear()

    def _consume(self, length: int, name: str) -> None:
        self.jobs_bytes += self._buf[:length]
        del self._buf[:length]
        self.commands.append(name)
        if self.out_after_bytes is not None and len(self.jobs_bytes) >= self.out_after_bytes:
            self.paper = "out"
            self.out_after_bytes = None

    def printed(self) -> Image.Image:
        """The bands of the last job stacked into one image."""
        width = self.images[0].width
        height = sum(im.height for im in self.images)
        sheet = Image.new("1", (width, height), 1)
        top = 0
        for band in self.images:
            sheet.paste(band, (0, top))
            top += band.height
        return sheet
