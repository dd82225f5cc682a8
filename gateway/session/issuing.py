"""The certificate desk: issuing the certificate when every reading is negative, printing it,
voiding it.

``CertificateDesk`` is given what it works with (the issuer, the printer, the lot book, the
catalogue) and a configuration of its own (``DeskConfig``: the name printed under the QR);
it keeps nothing about the person between calls, the session does (``Person.issued``).

The certificate, its ledger record and the lot's ``certified`` outcome commit in one
transaction (``CertificateIssuer.issue(..., same_transaction=...)``) before anything is
printed. Voiding publishes a void event with the reason; after "wrong quantity" the person
corrects the quantity and a new certificate is issued on the same readings, after "printer
jam" a new one is issued and printed at once (the half-printed QR is void). Each issue closes
the lot again: a re-issue is a second ``certified`` lot event of the same session, naming the
voided certificate in its note.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from device_drivers import Printer
from protocol import Call, Certificate, LotOutcome

from ..issuance import CertificateIssuer, IssuanceRefused, Lot, Promisor
from ..kits import Catalogue
from ..lots import LotBook
from ..producers import KnownProducer
from .lot import LotDraft
from .receipts import PrintStatus, certificate_receipt, print_receipt
from .units import CERTIFICATE_UNIT

VOID_REASONS: dict[str, str] = {
    "wrong_quantity": "wrong quantity: voided by the producer, re-issued with the right one",
    "printer_jam": "printer jam: the printed copy was spoiled, re-issued",
    "other": "voided by the producer at the kiosk",
}


@dataclass(frozen=True, slots=True)
class DeskConfig:
    station_name: str = ""
    """Printed under the certificate's QR."""


class CertificateDesk:
    def __init__(self, config: DeskConfig, *, issuer: CertificateIssuer,
                 printer: Printer | None, lots: LotBook, catalogue: Catalogue) -> None:
        self.config = config
        self.issuer = issuer
        self.printer = printer
        self.lots = lots
        self.catalogue = catalogue

    def issue(self, session_id: str, producer: KnownProducer, lot: LotDraft,
              replaces: Certificate | None = None) -> Certificate:
        """Issue the lot's certificate and close the lot with it, in one transaction. Blocking.

        Args:
            replaces: the voided certificate this one replaces (named in the lot's note).

        Raises:
            IssuanceRefused: not every analyte of the panel has a negative reading.
            StorageError: the kiosk database refused the transaction.
        """
        product = self.catalogue.product(lot.product_code or "")
        panel = lot.panel(list(product.analytes))
        results = lot.readings.results
        readings = [results[a] for a in panel if a in results]
        if len(readings) != len(panel) or any(r.call is not Call.NEGATIVE for r in readings):
            # Cannot happen through the screen: results are shown only when all are negative.
            raise IssuanceRefused("not every analyte of the panel has a negative reading")
        assert lot.quantity is not None and lot.unit is not None
        names = {a: self.catalogue.analyte(a).names.zh for a in panel}
        issued_lot = Lot(product.code, product.names.zh, lot.quantity,
                         CERTIFICATE_UNIT.get(lot.unit, lot.unit), producer.entry.origin_code,
                         producer.entry.origin_detail)
        lot_details = {"product_code": product.code, "producer_id": producer.producer_id,
                       "quantity": lot.quantity, "unit": issued_lot.unit,
                       "reading_ids": list(lot.readings.reading_ids)}
        # A re-issue after a void is the session's second lot event: say which one it replaces
        # (docs/protocol.md, event/lot).
        note = (f"re-issue of voided certificate {replaces.serial} ({replaces.token})"
                if replaces is not None else "")

        def outcome(conn: sqlite3.Connection, cert: Certificate) -> None:
            self.lots.close(session_id, LotOutcome.CERTIFIED, conn=conn, note=note,
                            certificate_token=cert.token, lot=lot_details)

        issued = self.issuer.issue(
            Promisor(producer.producer_id, producer.name, producer.phone),
            issued_lot, readings, names, same_transaction=outcome)
        return issued.certificate

    def print(self, certificate: Certificate) -> PrintStatus:
        """Print the certificate; returns the print status the screen shows. Blocking."""
        content = certificate_receipt(certificate, station_name=self.config.station_name,
                                      timezone=self.issuer.timezone)
        return print_receipt(self.printer, content)

    def void(self, certificate: Certificate, reason: str) -> None:
        """Void the certificate with one of ``VOID_REASONS`` and publish it. Blocking."""
        if reason not in VOID_REASONS:
            raise ValueError(f"void reason must be one of {sorted(VOID_REASONS)}")
        self.issuer.void(certificate.token, VOID_REASONS[reason])
