"""Which time to show for a record, given that a kiosk's clock may not be synchronised.

A kiosk without a real-time clock may boot in 1970 and stamp records with that until NTP answers.
The cloud keeps three things for every record: the kiosk's wall clock, whether it was
synchronised, and its own receive time. ``shown_time`` picks:

1. the kiosk's time, when it was synchronised;
2. otherwise a corrected time, when a later message of the same boot was made with a
   synchronised clock (same ``boot_id``: wall = synced wall - (synced mono - record mono));
3. otherwise the cloud's receive time (the record was made no later than that).

Cases 2 and 3 are flagged, and a time before ``EPOCH_FLOOR`` is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

CHINA_UTC_HOURS = 8
"""China Standard Time is UTC+8 all year (no daylight saving): the local time of the pages, of
the statistics' days and of the EPCIS events."""
CHINA = timezone(timedelta(hours=CHINA_UTC_HOURS))

EPOCH_FLOOR = datetime(2024, 1, 1, tzinfo=UTC)
"""No record of this system predates it; an earlier time is a clock that was not set."""


@dataclass(frozen=True, slots=True)
class ShownTime:
    at: datetime
    source: str
    """``kiosk`` (synchronised clock), ``corrected`` (by the boot's later sync) or ``received``
    (the cloud's receive time: the record was made no later than this)."""

    @property
    def flagged(self) -> bool:
        return self.source != "kiosk"


@dataclass(frozen=True, slots=True)
class BootAnchor:
    """A synchronised reading of a boot's clocks: ``wall`` at ``mono_ms``."""

    boot_id: str
    wall: datetime
    mono_ms: int


def shown_time(kiosk_time: datetime, time_synced: bool, received_at: datetime, *,
               boot_id: str | None = None, mono_ms: int | None = None,
               anchor: BootAnchor | None = None) -> ShownTime:
    """The time to show for a record (see the module docstring)."""
    if time_synced and kiosk_time >= EPOCH_FLOOR:
        return ShownTime(kiosk_time, "kiosk")
    if (anchor is not None and boot_id == anchor.boot_id and mono_ms is not None
            and mono_ms <= anchor.mono_ms):
        corrected = anchor.wall - timedelta(milliseconds=anchor.mono_ms - mono_ms)
        if EPOCH_FLOOR <= corrected <= received_at + timedelta(minutes=5):
            return ShownTime(corrected, "corrected")
    return ShownTime(received_at, "received")
