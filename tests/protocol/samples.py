"""Valid message bodies for protocol tests."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any


def header(device_id: str = "kiosk-0001", **extra: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "device_id": device_id,
        "msg_id": uuid.uuid4().hex,
        "boot_id": uuid.uuid4().hex,
        "mono_ms": 1234,
        "time": datetime(2026, 11, 24, 8, 30, tzinfo=UTC).isoformat(),
        "time_synced": True,
        **extra,
    }


def reading(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reading_id": uuid.uuid4().hex,
        "product_code": "chives",
        "analyte_code": "procymidone",
        "kit_id": "demo-procymidone",
        "kit_lot": "L2026-11",
        "kit_expires_on": date(2027, 6, 30).isoformat(),
        "call": "negative",
        "rule": "tc_ratio",
        "cutoff_low": 0.8,
        "cutoff_high": 1.0,
        "t_c_ratio": 1.12,
        "t_c_spread": 0.01,
        "c_line": {"position_px": 120.0, "height": 0.41, "area": 5.2},
        "t_line": {"position_px": 60.0, "height": 0.46, "area": 5.9},
        "frame_count": 3,
        "frames_sha256": ["ab" * 32] * 3,
        "processing_ms": 11.5,
        "reader_id": "reader-1",
        "calibration": {"state": "ok", "calibrated_at": "2026-11-20T02:00:00Z"},
        "scored_at": "2026-11-24T08:29:00Z",
    }
    body.update(overrides)
    return body


def reading_event(seq: int = 1, device_id: str = "kiosk-0001") -> dict[str, Any]:
    return {**header(device_id), "kind": "test_reading", "seq": seq, "reading": reading()}
