"""Issuing the certificate when every reading is negative, printing it, reprinting, voiding.

The certificate, its ledger record and the lot's ``certified`` outcome commit in one
transaction (``CertificateIssuer.issue(..., same_transaction=...)``) before anything is
printed. Voiding publishes a void event with the reason; after "wrong quantity" the person
corrects the quantity and a new certificate is issued on the same readings, after "printer
jam" a new one is issued and printed at once (the half-printed QR is void). Each issue closes
the lot again: a re-issue is a second ``certified`` lot event of the same session, naming the
voided certificate in its note.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from protocol import Call, Certificate, LotOutcome

from ..issuance import IssuanceRefused, Lot, Promisor
from ..storage import StorageError
from .core import SessionCore
from .receipts import certificate_receipt, print_receipt
from .steps import Notice, Step
from .units import CERTIFICATE_UNIT

log = logging.getLogger(__name__)

VOID_REASONS: dict[str, str] = {
    "wrong_quantity": "wrong quantity: voided by the producer, re-issued with the right one",
    "printer_jam": "printer jam: the printed copy was spoiled, re-issued",
    "other": "voided by the producer at the kiosk",
}


class IssuingMixin(SessionCore):
    async def issue(self) -> None:
        """The producer confirms the promise: issue, commit, then print."""
        self._require("issue")
        async with self._busy:
            await self._issue_and_print()

    async def _issue_and_print(self) -> None:
        p = self.person
        product = self.catalogue.product(p.product_code or "")
        panel = p.panel(list(product.analytes))
        readings = [p.results[a] for a in panel if a in p.results]
        if len(readings) != len(panel) or any(r.call is not Call.NEGATIVE for r in readings):
            # Cannot happen through the screen: results are shown only when all are negative.
            raise IssuanceRefused("not every analyte of the panel has a negative reading")
        producer = p.producer
        assert producer is not None and p.quantity is not None and p.unit is not None
        names = {a: self.catalogue.analyte(a).names.zh for a in panel}
        lot = Lot(product.code, product.names.zh, p.quantity,
                  CERTIFICATE_UNIT.get(p.unit, p.unit), producer.entry.origin_code,
                  producer.entry.origin_detail)
        lot_details = {"product_code": product.code, "producer_id": producer.producer_id,
                       "quantity": p.quantity, "unit": lot.unit,
                       "reading_ids": list(p.reading_ids)}
        # A re-issue after a void is the session's second lot event: say which one it replaces
        # (docs/protocol.md, event/lot).
        replaced = p.certificate if p.voided else None
        note = (f"re-issue of voided certificate {replaced.serial} ({replaced.token})"
                if replaced is not None else "")

        def outcome(conn: sqlite3.Connection, cert: Certificate) -> None:
            self.parts.lots.close(p.session_id, LotOutcome.CERTIFIED, conn=conn, note=note,
                                  certificate_token=cert.token, lot=lot_details)

        try:
            issued = await asyncio.to_thread(
                self.parts.issuer.issue, Promisor(producer.producer_id, producer.name,
                                                  producer.phone),
                lot, readings, names, same_transaction=outcome)
        except StorageError as exc:
            log.error("could not issue the certificate: %s", exc)
            p.error_code = "storage"
            self._go(Step.ERROR)
            return
        p.lot_closed = True
        p.certificate = issued.certificate
        p.voided = False
        p.print_status = "printing"
        self._go(Step.CERTIFICATE)
        await self._print()

    async def _print(self) -> None:
        p = self.person
        assert p.certificate is not None
        content = certificate_receipt(p.certificate,
                                      station_name=self.settings.device.station_name,
                                      timezone=self.parts.issuer.timezone)
        p.print_status = await asyncio.to_thread(print_receipt, self.parts.printer, content)
        notice = None
        if p.print_status != "printed":
            notice = Notice(f"notice.print_{p.print_status}", level="error")
        self.notice = notice
        self._touch()

    async def reprint(self) -> None:
        """Print the same certificate again (after loading paper or switching on)."""
        self._require("reprint")
        if self.person.voided:
            self.notice = Notice("notice.voided", level="error")
            self._touch()
            return
        async with self._busy:
            self.person.print_status = "printing"
            self._touch()
            await self._print()

    async def void(self, reason: str) -> None:
        """Void the certificate just issued, with a reason, and publish the void event.

        ``wrong_quantity`` goes back to the quantity (then a new certificate), ``printer_jam``
        issues and prints a new one at once, ``other`` just voids it.
        """
        self._require("void")
        if reason not in VOID_REASONS:
            raise ValueError(f"void reason must be one of {sorted(VOID_REASONS)}")
        p = self.person
        assert p.certificate is not None
        async with self._busy:
            if not p.voided:
                await asyncio.to_thread(self.parts.issuer.void, p.certificate.token,
                                        VOID_REASONS[reason])
                p.voided = True
            if reason == "wrong_quantity":
                p.correcting = True
                self._go(Step.QUANTITY, Notice("notice.voided_correct_quantity"))
            elif reason == "printer_jam":
                await self._issue_and_print()
            else:
                self.notice = Notice("notice.voided")
                self._touch()
