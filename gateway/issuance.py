"""Issuing and voiding certificates at the kiosk.

A certificate is issued only when every reading it rests on is negative. It is committed to
the kiosk database *and* queued in the outbox in one transaction, before anything is printed
or shown, so a printed certificate always exists in the ledger; a power cut in the middle
leaves either a fully issued, queued certificate or nothing.

The public token (the QR) is 128 random bits bound to this kiosk's device id
(``protocol.certificate_rules.make_token``: the cloud refuses a token that another kiosk made,
so nobody who reads a printed QR can claim it first); the human serial
``{station}-{yyyymmdd}-{n}`` counts per local day and is never used to look a certificate up.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from protocol import (
    Basis,
    Call,
    Certificate,
    CertificateStyle,
    EventName,
    StripReading,
    TestSummary,
)
from protocol.bound_ids import make_token
from protocol.certificate_rules import PROMISE_TEXT, TEMPLATE_VERSION, verify_url

from .clock import KioskClock
from .errors import GatewayError
from .outbox import Outbox
from .storage import KioskDatabase

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
"""The default local time zone (``clock.timezone``'s default), whose day the serial counts."""


class IssuanceRefused(GatewayError):
    """The law does not allow this certificate (a reading that is not negative, no readings,
    an unknown or already voided certificate). The message says why in plain words."""

    code = "issuance_refused"
    translation_key = "error.issuance_refused"


@dataclass(frozen=True, slots=True)
class Promisor:
    producer_id: str
    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class Lot:
    product_code: str
    product_name: str
    quantity: float
    unit: str
    origin_code: str
    origin_detail: str = ""


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    certificate: Certificate
    msg_id: str
    seq: int


class CertificateIssuer:
    def __init__(
        self,
        db: KioskDatabase,
        outbox: Outbox,
        clock: KioskClock,
        *,
        station_id: str,
        place_code: str,
        public_base_url: str,
        timezone: ZoneInfo = LOCAL_TZ,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.clock = clock
        self.station_id = station_id
        self.place_code = place_code
        self.public_base_url = public_base_url
        self.timezone = timezone

    def issue(
        self,
        promisor: Promisor,
        lot: Lot,
        readings: list[StripReading],
        analyte_names: dict[str, str] | None = None,
        *,
        same_transaction: Callable[[sqlite3.Connection, Certificate], None] | None = None,
    ) -> IssuedCertificate:
        """Issue a producer's certificate (样式一, basis 自行检测合格) resting on ``readings``.

        Args:
            same_transaction: called with the open transaction and the new certificate, for
                records that must exist together with it or not at all (the session's lot
                outcome); an exception from it rolls the certificate back.

        Raises:
            IssuanceRefused: no readings, or a reading that is not negative.
        """
        if not readings:
            raise IssuanceRefused("a self-tested certificate needs at least one reading")
        not_negative = [r for r in readings if r.call is not Call.NEGATIVE]
        if not_negative:
            listed = ", ".join(f"{r.analyte_code}: {r.call.value}" for r in not_negative)
            raise IssuanceRefused(f"not every test is negative ({listed})")
        names = analyte_names or {}
        stamp = self.clock.now()
        token = make_token(self.outbox.sealer.device_id)
        tests = [
            TestSummary(
                reading_id=r.reading_id,
                analyte_code=r.analyte_code,
                analyte_name=names.get(r.analyte_code, r.analyte_code),
                kit_id=r.kit_id,
                kit_lot=r.kit_lot,
                call=r.call,
                t_c_ratio=r.t_c_ratio,
            )
            for r in readings
        ]
        with self.db.transaction() as conn:
            serial = self._next_serial(conn, stamp.time)
            certificate = Certificate(
                token=token,
                serial=serial,
                style=CertificateStyle.PRODUCER,
                template_version=TEMPLATE_VERSION,
                product_code=lot.product_code,
                product_name=lot.product_name,
                quantity=lot.quantity,
                unit=lot.unit,
                origin_code=lot.origin_code,
                origin_detail=lot.origin_detail,
                producer_id=promisor.producer_id,
                promisor_name=promisor.name,
                promisor_phone=promisor.phone,
                promise=PROMISE_TEXT[CertificateStyle.PRODUCER],
                basis=[Basis.SELF_TESTED],
                tests=tests,
                issued_at=stamp.time,
                time_synced=stamp.time_synced,
                station_id=self.station_id,
                place_code=self.place_code,
                verify_url=verify_url(self.public_base_url, token),
            )
            body = {"action": "issued", "certificate": certificate.model_dump(mode="json")}
            record, sealed = self.outbox.append(conn, EventName.CERTIFICATE, {"body": body})
            conn.execute(
                "INSERT INTO certificates (token, serial, producer_id, product_code, issued_at,"
                " status, msg_id, body) VALUES (?, ?, ?, ?, ?, 'issued', ?, ?)",
                (token, serial, promisor.producer_id, lot.product_code,
                 stamp.time.isoformat(), sealed.msg_id, certificate.model_dump_json()),
            )
            if same_transaction is not None:
                same_transaction(conn, certificate)
        return IssuedCertificate(certificate, sealed.msg_id, record.seq)

    def void(self, token: str, reason: str) -> None:
        """Void an issued certificate (wrong quantity, printer jam) and tell the cloud.

        Raises:
            IssuanceRefused: unknown token, or already voided.
        """
        reason = reason.strip()
        if not reason:
            raise IssuanceRefused("a void needs a reason")
        stamp = self.clock.now()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT serial, status FROM certificates WHERE token = ?", (token,)
            ).fetchone()
            if row is None:
                raise IssuanceRefused("no certificate with that token was issued here")
            if row["status"] == "voided":
                raise IssuanceRefused(f"certificate {row['serial']} is already voided")
            body = {"action": "voided", "token": token, "serial": row["serial"],
                    "reason": reason, "voided_at": stamp.time.isoformat()}
            self.outbox.append(conn, EventName.CERTIFICATE, {"body": body})
            conn.execute(
                "UPDATE certificates SET status = 'voided', void_reason = ? WHERE token = ?",
                (reason, token),
            )

    def get(self, token: str) -> tuple[Certificate, str] | None:
        """The certificate and its status ('issued' or 'voided'), or None."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT body, status FROM certificates WHERE token = ?", (token,)
            ).fetchone()
        if row is None:
            return None
        return Certificate.model_validate(json.loads(row["body"])), row["status"]

    def _next_serial(self, conn: sqlite3.Connection, issued_at: datetime) -> str:
        day = issued_at.astimezone(self.timezone).strftime("%Y%m%d")
        row = conn.execute("SELECT last FROM serial_counters WHERE day = ?", (day,)).fetchone()
        number = (row[0] if row else 0) + 1
        conn.execute(
            "INSERT INTO serial_counters (day, last) VALUES (?, ?)"
            " ON CONFLICT (day) DO UPDATE SET last = excluded.last",
            (day, number),
        )
        return f"{self.station_id}-{day}-{number:04d}"
