"""Fake but valid kiosk messages, sealed with ``protocol.seal`` and a fresh Ed25519 key.

The cloud's tests and benchmarks need signed messages without the kiosk gateway (the cloud
never imports it). ``FakeKiosk`` numbers its ledger records like a real kiosk (seq 1, 2, 3, ...)
and returns ``(topic, payload bytes)`` ready to publish or to hand to the ingest writer.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import (
    AlarmEvent,
    CertificateEvent,
    CommandResult,
    LotEvent,
    ProducerEvent,
    StatusMessage,
    Telemetry,
    TestReadingEvent,
    command_result_topic,
    event_topic,
    generate_private_key,
    public_key_text,
    seal,
    status_topic,
    telemetry_topic,
)
from protocol.bound_ids import make_producer_id, make_token

Message = tuple[str, bytes]


def hex_id() -> str:
    return secrets.token_hex(16)


def new_token() -> str:
    """A token no kiosk made (for lookups of unknown certificates)."""
    return secrets.token_urlsafe(16)  # 128 bits -> 22 characters of base64url


@dataclass
class FakeKiosk:
    """A kiosk identity and its ledger counter, making signed messages on demand."""

    device_id: str = field(default_factory=lambda: f"kiosk-{secrets.token_hex(4)}")
    station_id: str = "JL01"
    place_code: str = "220122"
    key: Ed25519PrivateKey = field(default_factory=generate_private_key)
    boot_id: str = field(default_factory=hex_id)
    next_seq: int = 1
    started: float = field(default_factory=time.monotonic)

    @property
    def public_key(self) -> str:
        return public_key_text(self.key)

    def header(self, kind: str, **extra: Any) -> dict[str, Any]:
        return {
            "v": 1,
            "kind": kind,
            "device_id": self.device_id,
            "msg_id": hex_id(),
            "boot_id": self.boot_id,
            "mono_ms": int((time.monotonic() - self.started) * 1000),
            "time": datetime.now(UTC),
            "time_synced": True,
            **extra,
        }

    def new_token(self) -> str:
        """A certificate token bound to this kiosk, as a real kiosk makes them."""
        return make_token(self.device_id)

    def new_producer_id(self) -> str:
        """A producer id bound to this kiosk, as a real kiosk makes them."""
        return make_producer_id(self.device_id, self.station_id)

    def take_seq(self, seq: int | None) -> int:
        if seq is None:
            seq, self.next_seq = self.next_seq, self.next_seq + 1
        return seq

    # ----------------------------------------------------------------------------- ledger

    def certificate(self, *, seq: int | None = None, token: str | None = None,
                    phone: str = "13812341234", **cert: Any) -> Message:
        """An issued certificate event (style 1, one negative test)."""
        seq = self.take_seq(seq)
        token = token or self.new_token()
        now = datetime.now(UTC)
        certificate = {
            "token": token,
            "serial": f"{self.station_id}-{now:%Y%m%d}-{seq}",
            "style": "style1",
            "template_version": "MARA-2025-4",
            "product_code": "jiucai",
            "product_name": "韭菜",
            "quantity": 50,
            "unit": "kg",
            "origin_code": self.place_code,
            "origin_detail": "三村二组",
            "producer_id": "p-0001",
            "promisor_name": "张三丰",
            "promisor_phone": phone,
            "promise": "我承诺生产销售的食用农产品：未使用禁用农药、兽药及其他化合物；"
                       "使用的常规农药、兽药残留不超标。",
            "basis": ["自行检测合格"],
            "tests": [{
                "reading_id": hex_id(), "analyte_code": "procymidone",
                "analyte_name": "腐霉利", "kit_id": "kit-pcm", "kit_lot": "L2401",
                "call": "negative", "t_c_ratio": 1.12,
            }],
            "issued_at": now,
            "time_synced": True,
            "station_id": self.station_id,
            "place_code": self.place_code,
            "verify_url": f"http://127.0.0.1:8080/c/{token}",
            **cert,
        }
        fields = self.header("certificate", seq=seq,
                             body={"action": "issued", "certificate": certificate})
        _, payload = seal(CertificateEvent, fields, self.key)
        return event_topic(self.device_id, "certificate"), payload

    def void(self, token: str, *, serial: str = "JL01-20250101-1", seq: int | None = None,
             reason: str = "数量填写错误") -> Message:
        seq = self.take_seq(seq)
        body = {"action": "voided", "token": token, "serial": serial, "reason": reason,
                "voided_at": datetime.now(UTC)}
        _, payload = seal(CertificateEvent, self.header("certificate", seq=seq, body=body),
                          self.key)
        return event_topic(self.device_id, "certificate"), payload

    def reading(self, *, seq: int | None = None, call: str = "negative",
                **extra: Any) -> Message:
        seq = self.take_seq(seq)
        now = datetime.now(UTC)
        reading = {
            "reading_id": hex_id(), "product_code": "jiucai", "analyte_code": "procymidone",
            "kit_id": "kit-pcm", "kit_lot": "L2401",
            "kit_expires_on": date.today() + timedelta(days=200),
            "call": call, "rule": "tc_ratio", "cutoff_low": 0.8, "t_c_ratio": 1.12,
            "c_line": {"position_px": 120.0, "height": 0.8, "area": 9.5},
            "t_line": {"position_px": 180.0, "height": 0.9, "area": 10.6},
            "frame_count": 5, "frames_sha256": ["0" * 64], "processing_ms": 42.0,
            "reader_id": "reader-1", "calibration": {"state": "ok"}, "scored_at": now,
            **extra,
        }
        _, payload = seal(TestReadingEvent, self.header("test_reading", seq=seq, reading=reading),
                          self.key)
        return event_topic(self.device_id, "test"), payload

    def producer(self, producer_id: str = "p-0001", *, action: str = "registered",
                 seq: int | None = None, name: str = "张三丰", phone: str = "13812341234",
                 time_synced: bool = True, when: datetime | None = None,
                 **extra: Any) -> Message:
        """A producer registered (or updated) at this kiosk."""
        seq = self.take_seq(seq)
        now = datetime.now(UTC)
        producer = {
            "producer_id": producer_id, "kind": "farmer", "name": name, "phone": phone,
            "origin_code": self.place_code, "origin_detail": "三村二组",
            "card_code": f"card-{producer_id}",
            "pin_hash": "scrypt$16384$8$1$" + "a" * 22 + "$" + "b" * 43,
            "registered_at": now, "registered_by": self.device_id, **extra,
        }
        header = self.header("producer", seq=seq, action=action, producer=producer)
        header["time_synced"] = time_synced
        if when is not None:
            header["time"] = when
        _, payload = seal(ProducerEvent, header, self.key)
        return event_topic(self.device_id, "producer"), payload

    def lot(self, outcome: str = "certified", *, seq: int | None = None,
            producer_id: str | None = "p-0001", certificate_token: str | None = None,
            reading_ids: list[str] | None = None, session_id: str | None = None) -> Message:
        """What became of a lot tested at this kiosk."""
        seq = self.take_seq(seq)
        fields = self.header("lot", seq=seq, session_id=session_id or hex_id(), outcome=outcome,
                             producer_id=producer_id, product_code="jiucai", quantity=50,
                             unit="kg", reading_ids=reading_ids or [hex_id()],
                             certificate_token=certificate_token)
        _, payload = seal(LotEvent, fields, self.key)
        return event_topic(self.device_id, "lot"), payload

    def alarm(self, code: str = "disk_low", state: str = "raised", *, seq: int | None = None,
              severity: str = "warning", message: str = "磁盘空间不足，请清理存储卡"
              ) -> Message:
        """An alarm the kiosk raised or cleared."""
        seq = self.take_seq(seq)
        fields = self.header("alarm", seq=seq, code=code, state=state, severity=severity,
                             subject=None, message=message)
        _, payload = seal(AlarmEvent, fields, self.key)
        return event_topic(self.device_id, "alarm"), payload

    # ------------------------------------------------------------------------- not ledger

    def status(self, state: str = "online", *, graceful: bool = False) -> Message:
        fields = self.header("status", state=state, graceful=graceful, software_version="0.1.0")
        _, payload = seal(StatusMessage, fields, self.key)
        return status_topic(self.device_id), payload

    def telemetry(self, *, outbox_pending: int = 0, **extra: Any) -> Message:
        fields = self.header(
            "telemetry", software_version="0.1.0", uptime_s=12.5,
            outbox_pending=outbox_pending, last_seq=self.next_seq - 1,
            disk_free_bytes=10**9, disk_total_bytes=16 * 10**9,
        )
        fields.update(extra)
        _, payload = seal(Telemetry, fields, self.key)
        return telemetry_topic(self.device_id), payload

    def command_result(self, name: str = "diagnostics") -> Message:
        fields = self.header("command_result", cmd_id=hex_id(), name=name, ok=True,
                             result={"uptime_s": 3})
        _, payload = seal(CommandResult, fields, self.key)
        return command_result_topic(self.device_id, name), payload
