"""The kiosk's periodic health snapshot (the ``telemetry`` message's fields)."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .outbox import Outbox

THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")


def cpu_temperature_c(path: Path = THERMAL_ZONE) -> float | None:
    """The SoC temperature on a Raspberry Pi (and most Linux boards), or None if unknown."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


class TelemetryCollector:
    """Gathers the snapshot off the event loop (disk and database reads block)."""

    def __init__(
        self,
        outbox: Outbox,
        data_dir: Path,
        *,
        software_version: str,
        firmware_version: Callable[[], str | None] = lambda: None,
        extra: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.data_dir = data_dir
        self.software_version = software_version
        self.firmware_version = firmware_version
        self.extra = extra
        self._started = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        stats = self.outbox.stats()
        disk = shutil.disk_usage(self.data_dir)
        oldest_age = None
        if stats.oldest_unacked_created_at is not None:
            oldest_age = max(
                0.0, (datetime.now(UTC) - stats.oldest_unacked_created_at).total_seconds()
            )
        fields: dict[str, Any] = {
            "software_version": self.software_version,
            "firmware_version": self.firmware_version(),
            "uptime_s": round(time.monotonic() - self._started, 1),
            "outbox_pending": stats.unacked,
            "outbox_oldest_age_s": oldest_age,
            "last_acked_seq": stats.acked_seq,
            "last_seq": stats.last_seq,
            "disk_free_bytes": disk.free,
            "disk_total_bytes": disk.total,
            "cpu_temp_c": cpu_temperature_c(),
        }
        if self.extra is not None:
            fields.update(self.extra())
        return fields

    async def __call__(self) -> dict[str, Any]:
        return await asyncio.to_thread(self.snapshot)
