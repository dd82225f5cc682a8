"""What the kiosk prints: the certificate (with 承诺达标合格证 beside its QR) and a new
producer's card (a QR to scan next time), and printing them without ever losing anything.

A certificate is committed before it is printed, so a printer that is out of paper, offline
or jammed only changes the print status the screen shows: the certificate exists, its QR is on
the screen, and it can be reprinted (or voided and issued again after a jam).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from zoneinfo import ZoneInfo

from device_drivers import DeviceError, Printer, PrinterOffline, PrinterOutOfPaper, ReceiptContent
from protocol import Certificate
from protocol.certificate_rules import STYLE_NAME, TITLE

from ..issuance import LOCAL_TZ

log = logging.getLogger(__name__)

CALL_ZH = {"negative": "阴性", "positive": "阳性", "suspect": "可疑", "invalid": "无效"}


class PrintStatus(StrEnum):
    """How printing a receipt went, as the screen says it."""

    PRINTING = "printing"
    PRINTED = "printed"
    OUT_OF_PAPER = "out_of_paper"  # load paper, then reprint
    OFFLINE = "offline"            # switch it on, close its cover, then reprint
    FAILED = "failed"              # anything else a device reports: call the technician
    NO_PRINTER = "no_printer"      # this kiosk has none configured

    @property
    def notice_key(self) -> str | None:
        """The catalogue key of the notice the screen shows after this status (None: none)."""
        return PRINT_NOTICES.get(self)


PRINT_NOTICES: dict[PrintStatus, str] = {
    PrintStatus.OUT_OF_PAPER: "notice.print_out_of_paper",
    PrintStatus.OFFLINE: "notice.print_offline",
    PrintStatus.FAILED: "notice.print_failed",
    PrintStatus.NO_PRINTER: "notice.print_no_printer",
}


def certificate_receipt(cert: Certificate, *, station_name: str = "",
                        timezone: ZoneInfo = LOCAL_TZ) -> ReceiptContent:
    """The certificate as a receipt: fields of the 2025 style, the promise, the QR; times in
    the kiosk's time zone (the issuer's, the one its serials count days in)."""
    issued = cert.issued_at.astimezone(timezone)
    tests = "；".join(f"{t.analyte_name} {CALL_ZH.get(t.call.value, t.call.value)}"
                     for t in cert.tests)
    clock_note = "" if cert.time_synced else "（时钟未校准）"
    origin = cert.origin_code + (f" {cert.origin_detail}" if cert.origin_detail else "")
    lines = (
        # Short labels: the receipt is 58 mm wide (labels take at most 40 % of it).
        ("样式", STYLE_NAME[cert.style]),
        ("产品", cert.product_name),
        ("数量", f"{cert.quantity:g} {cert.unit}"),
        ("产地", origin),
        ("生产者", cert.promisor_name),
        ("电话", cert.promisor_phone),
        ("日期", f"{issued:%Y-%m-%d %H:%M}{clock_note}"),
        ("依据", "、".join(b.value for b in cert.basis)),
        ("自检", tests),
        ("承诺", cert.promise),
        ("编号", cert.serial),
    )
    footer = "扫码查验真伪" + (f" · {station_name}" if station_name else "")
    return ReceiptContent(title=TITLE, lines=lines, qr_payload=cert.verify_url,
                          qr_caption=TITLE, footer=footer)


def producer_card_receipt(name: str, producer_id: str, card_code: str) -> ReceiptContent:
    """A new producer's card: scanning its QR identifies them at any kiosk of the station."""
    return ReceiptContent(
        title="生产者卡",
        lines=(("姓名", name), ("编号", producer_id)),
        qr_payload=card_code,
        qr_caption="下次检测请扫此码",
        footer="请妥善保管；遗失可在屏幕上选名字并输入密码",
    )


def print_receipt(printer: Printer | None, content: ReceiptContent) -> PrintStatus:
    """Print ``content``; returns the print status the screen shows (``PrintStatus``; a
    missing CJK font is ``failed`` too). Blocking."""
    if printer is None:
        return PrintStatus.NO_PRINTER
    try:
        printer.open()
        printer.print_receipt(content)
    except PrinterOutOfPaper as exc:
        log.warning("printing %r: %s", content.title, exc)
        return PrintStatus.OUT_OF_PAPER
    except PrinterOffline as exc:
        log.warning("printing %r: %s", content.title, exc)
        return PrintStatus.OFFLINE
    except DeviceError as exc:
        log.error("printing %r failed: %s", content.title, exc)
        return PrintStatus.FAILED
    return PrintStatus.PRINTED
