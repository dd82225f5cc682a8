"""The printer: golden bytes and bitmap of the fixture receipt, the ESC/POS encoding checked
against python-escpos, status handling (out of paper, offline, cover open, paper running out
mid-job) on a fake ESC/POS printer over a pty, and the file, USB and simulated backends."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageChops

from device_drivers import (
    DeviceAbsent,
    Printer,
    PrinterConfig,
    PrinterOffline,
    PrinterOutOfPaper,
    ReceiptContent,
    SimulatedPrinter,
    open_printer,
    render_receipt,
)
from device_drivers.printer import escpos
from device_drivers.printer.fonts import FontMissing, find_cjk_font
from tests.device_drivers.fake_escpos_printer import FakeEscPosPrinter
from tests.device_drivers.receipt_fixture import (
    DOCS_IMAGE,
    FEED_LINES,
    FIXTURE,
    GOLDEN,
    font_facts,
)

GOLDEN_PNG = GOLDEN / "receipt.png"
GOLDEN_BIN = GOLDEN / "receipt.bin"
REGEN = "regenerate with: .venv/bin/python -m tests.device_drivers.receipt_fixture"


def _golden_image() -> Image.Image:
    with Image.open(GOLDEN_PNG) as img:
        return img.convert("1")


def test_golden_bytes_of_the_fixture_receipt() -> None:
    """The exact bytes sent for the fixture receipt's bitmap: the encoder is pinned."""
    job = escpos.receipt_job(_golden_image(), FEED_LINES, True)
    assert job == GOLDEN_BIN.read_bytes()
    assert job[:2] == b"\x1b@"
    assert job[2:8] == b"\x1dv0\x00\x30\x00"  # GS v 0, normal density, 48 bytes = 384 dots
    assert job[-6:] == b"\x1bd\x04\x1dV\x00"  # feed 4 lines, full cut


def test_rendering_the_fixture_gives_the_golden_bitmap() -> None:
    image = render_receipt(FIXTURE, width=384)
    golden = _golden_image()
    recorded = json.loads((GOLDEN / "receipt.meta.json").read_text())
    context = f"rendered with {font_facts()}, golden made with {recorded}; {REGEN}"
    assert image.size == golden.size, context
    assert ImageChops.difference(image.convert("L"), golden.convert("L")).getbbox() is None, \
        context


def test_docs_show_the_golden_receipt() -> None:
    assert DOCS_IMAGE.read_bytes() == GOLDEN_PNG.read_bytes(), REGEN


def test_simulated_printer_sends_exactly_the_golden_bytes() -> None:
    printer = SimulatedPrinter(PrinterConfig(backend="simulated", feed_lines=FEED_LINES))
    with printer:
        image = printer.print_receipt(FIXTURE)
    assert printer.output == GOLDEN_BIN.read_bytes()
    assert printer.last_image is image and printer.images == [image]


def test_raster_encoding_agrees_with_python_escpos() -> None:
    """An independent encoder (python-escpos's Dummy printer) gives the same GS v 0 bytes."""
    from escpos.printer import Dummy

    image = _golden_image().crop((0, 0, 384, 200))  # one band
    dummy = Dummy()
    dummy.image(image, impl="bitImageRaster", fragment_height=escpos.BAND_ROWS)
    assert dummy.output == escpos.raster_image(image)


def test_raster_bits_are_black_dots() -> None:
    image = Image.new("1", (10, 2), 1)
    image.putpixel((0, 0), 0)
    image.putpixel((9, 1), 0)
    assert escpos.raster_image(image) == b"\x1dv0\x00\x02\x00\x02\x00" + bytes(
        [0b1000_0000, 0, 0, 0b0100_0000])


def test_receipt_layout_fits_the_paper_and_is_one_bit() -> None:
    wide = render_receipt(FIXTURE, width=576)  # 80 mm paper
    assert wide.mode == "1" and wide.width == 576
    long_value = ReceiptContent(title="标题", lines=(("备注", "很长的文字" * 30),),
                                qr_payload="x", qr_caption="承诺达标合格证")
    image = render_receipt(long_value)
    assert image.width == 384 and image.height > 400  # wrapped, not cut off
    black = ~np.asarray(image, dtype=bool)
    assert black[:, :4].sum() == 0 and black[:, -4:].sum() == 0, "margins stay white"


def test_missing_cjk_font_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from device_drivers.printer import fonts

    find_cjk_font.cache_clear()
    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    monkeypatch.setattr(fonts, "KNOWN", {"Regular": [("/nonexistent/font.ttc", 2)]})
    try:
        with pytest.raises(FontMissing) as caught:
            render_receipt(FIXTURE)
        assert "apt install fonts-noto-cjk" in caught.value.fix
    finally:
        find_cjk_font.cache_clear()


# -- a real transport: serial, to a fake ESC/POS printer on a pty --------------------------------


def _serial_cfg(path: str) -> PrinterConfig:
    return PrinterConfig(backend="serial", target=path, status_timeout_s=0.2, status_retries=1,
                         feed_lines=FEED_LINES)


def test_serial_printer_prints_the_golden_receipt() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        printer.print_image(_golden_image())
        assert printer.health().state == "ok"
    assert fake.errors == []
    assert bytes(fake.jobs_bytes) == GOLDEN_BIN.read_bytes()
    assert fake.commands[:3] == ["DLE EOT 1", "DLE EOT 2", "DLE EOT 4"]
    rows = _golden_image().height
    bands = [f"GS v 0 48x{min(256, rows - top)}" for top in range(0, rows, 256)]
    job = [c for c in fake.commands if not c.startswith("DLE")]
    assert job == ["ESC @", *bands, f"ESC d {FEED_LINES}", "GS V 0"]
    assert np.array_equal(np.asarray(fake.printed()), np.asarray(_golden_image()))


def test_out_of_paper_is_refused_before_printing() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        fake.paper = "out"
        with pytest.raises(PrinterOutOfPaper, match="before printing") as caught:
            printer.print_image(_golden_image())
        assert "paper roll" in caught.value.fix
        assert fake.jobs_bytes == b"", "nothing was printed"
        assert printer.health().state == "fault"
        fake.paper = "ok"
        printer.print_image(_golden_image())  # after loading paper it prints
    assert bytes(fake.jobs_bytes) == GOLDEN_BIN.read_bytes()


def test_paper_running_out_mid_receipt_asks_for_a_reprint() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        fake.out_after_bytes = 5000
        with pytest.raises(PrinterOutOfPaper, match="after printing: the receipt may be "
                                                    "incomplete") as caught:
            printer.print_image(_golden_image())
        assert "reprint" in caught.value.fix


def test_offline_printer_is_a_clear_error() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        fake.silent = True
        with pytest.raises(PrinterOffline, match="does not answer status requests") as caught:
            printer.print_image(_golden_image())
        assert "switched on" in caught.value.fix
        assert fake.jobs_bytes == b""
        assert printer.health().state == "fault"


def test_open_cover_is_reported() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        fake.cover_open = True
        with pytest.raises(PrinterOffline, match="cover is open"):
            printer.print_image(_golden_image())


def test_garbled_status_answer_is_retried() -> None:
    with FakeEscPosPrinter() as fake, open_printer(_serial_cfg(fake.path)) as printer:
        fake.garble_next = 1
        status = printer.status()
        assert status.known and status.online and status.paper == "ok"
        assert fake.commands.count("DLE EOT 1") == 2


def test_usb_printer_device_through_usblp_path() -> None:
    """The usb backend opens the usblp node read/write; a pty stands in for /dev/usb/lp0."""
    with FakeEscPosPrinter() as fake:
        cfg = PrinterConfig(backend="usb", target=fake.path, status_timeout_s=0.2)
        with open_printer(cfg) as printer:
            printer.print_image(_golden_image())
            assert printer.status().paper == "ok"
    assert fake.errors == [] and fake.printed().size == _golden_image().size


@pytest.mark.parametrize("backend,target", [("serial", "/dev/ttyUSB97"),
                                            ("usb", "/dev/usb/lp97"),
                                            ("file", "/nonexistent-dir/receipts.bin")])
def test_missing_printer_is_absent(backend: str, target: str) -> None:
    with pytest.raises(DeviceAbsent, match=f"printer not found at {target}"):
        open_printer(PrinterConfig(backend=backend, target=target))  # type: ignore[arg-type]


def test_file_printer_appends_jobs_without_status(tmp_path: Path) -> None:
    target = tmp_path / "spool.bin"
    with open_printer(PrinterConfig(backend="file", target=str(target))) as printer:
        printer.print_image(_golden_image())
        printer.print_image(_golden_image())
        health = printer.health()
    assert target.read_bytes() == GOLDEN_BIN.read_bytes() * 2
    assert health.state == "ok" and "cannot report paper" in health.detail


def test_simulated_printer_faults() -> None:
    printer = SimulatedPrinter(PrinterConfig(backend="simulated"))
    with printer:
        assert printer.health().state == "simulated"
        printer.run_out_of_paper()
        with pytest.raises(PrinterOutOfPaper):
            printer.print_image(_golden_image())
        assert printer.output == b""
        printer.load_paper()
        printer.paper_low()
        printer.print_image(_golden_image())
        assert "paper low" in printer.health().detail
        printer.go_offline()
        with pytest.raises(PrinterOffline):
            printer.print_image(_golden_image())
        printer.load_paper()
        printer.run_out_during_next_job()
        with pytest.raises(PrinterOutOfPaper, match="incomplete"):
            printer.print_image(_golden_image())


def test_images_that_do_not_fit_are_refused() -> None:
    printer = SimulatedPrinter(PrinterConfig(backend="simulated"))
    with printer:
        with pytest.raises(ValueError, match="400 dots wide"):
            printer.print_image(Image.new("1", (400, 10), 1))
        with pytest.raises(ValueError, match="1-bit"):
            printer.print_image(Image.new("L", (100, 10), 255))


class _FlakyLink:
    """A transport that answers status like a ready printer until it is told to die."""

    can_query = True

    def __init__(self) -> None:
        self.dead_writes = False
        self.silent = False
        self.closed = False
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        if self.dead_writes:
            raise PrinterOffline("printer on fake stopped taking data: gone", fix="replug it")
        self.written += data

    def query(self, request: bytes, timeout_s: float) -> int | None:
        return None if self.silent else 0b0001_0010

    def close(self) -> None:
        self.closed = True


def _flaky_printer() -> tuple[Printer, list[_FlakyLink]]:
    links: list[_FlakyLink] = []

    def factory() -> _FlakyLink:
        links.append(_FlakyLink())
        return links[-1]

    cfg = PrinterConfig(backend="serial", target="fake", status_retries=0)
    return Printer(cfg, factory), links


def test_failed_write_drops_the_transport_and_open_makes_a_new_one() -> None:
    printer, links = _flaky_printer()
    printer.open()
    links[0].dead_writes = True
    with pytest.raises(PrinterOffline, match="stopped taking data"):
        printer.print_image(_golden_image())
    assert links[0].closed, "the dead transport was closed"
    printer.open()
    assert len(links) == 2, "open() made a new transport"
    printer.print_image(_golden_image())
    assert bytes(links[1].written) == GOLDEN_BIN.read_bytes()
    printer.close()


def test_printer_that_stops_answering_gets_a_new_transport_on_open() -> None:
    printer, links = _flaky_printer()
    with printer:
        links[0].silent = True
        with pytest.raises(PrinterOffline, match="does not answer status requests"):
            printer.print_image(_golden_image())
        assert links[0].written == b""
        printer.open()
        assert links[0].closed and len(links) == 2, "the silent link was replaced"
        printer.print_image(_golden_image())
        links[1].silent = True
        assert printer.health().state == "fault"
        assert printer.health().state == "ok", "health replaced the silent link"
        assert len(links) == 3 and links[1].closed


class _SlowLink(_FlakyLink):
    """Records the order of writes and status requests; a write takes a while."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []
        self.writing = threading.Event()

    def write(self, data: bytes) -> None:
        self.log.append("write start")
        self.writing.set()
        time.sleep(0.3)
        super().write(data)
        self.log.append("write end")

    def query(self, request: bytes, timeout_s: float) -> int | None:
        self.log.append("status")
        return super().query(request, timeout_s)


def test_a_health_check_waits_for_the_print_job_instead_of_cutting_into_it() -> None:
    link = _SlowLink()
    printer = Printer(PrinterConfig(backend="serial", target="fake", status_retries=0),
                      lambda: link)
    with printer:
        job = threading.Thread(target=printer.print_image, args=(_golden_image(),))
        job.start()
        assert link.writing.wait(5)
        health = printer.health()  # from another thread, while the raster is going out
        job.join(5)
    assert health.ok
    start, end = link.log.index("write start"), link.log.index("write end")
    assert end == start + 1, link.log  # no status request inside the job
    assert bytes(link.written) == GOLDEN_BIN.read_bytes()
