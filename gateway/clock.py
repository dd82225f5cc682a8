"""The kiosk's clocks: wall time, monotonic time, boot id, and whether to trust the wall clock.

A kiosk may boot without a real-time clock and without network time, in which case the wall
clock can read 1970 or an old date until NTP answers. Every record therefore carries the wall
time, the monotonic time since this start, the boot id and a ``time_synced`` flag; the cloud
uses them to correct or flag such records.

Whether the clock is synchronised is read from the kernel (``adjtimex``: ``TIME_ERROR`` means
unsynchronised, which is what ``timedatectl``'s "System clock synchronized" reports), unless the
settings say to trust the system clock (a development machine or the demo).

The clock floor: the latest synchronised time this kiosk has ever stamped is persisted with
its records. After a reboot the true time is at least that floor plus the monotonic time since
start, so a wall clock reading earlier than that is known to be wrong: the stamp uses the lower
bound instead and says ``time_synced = false``. With ``EARLIEST_PLAUSIBLE`` as a floor for a new
kiosk, no record (and no certificate) ever carries a 1970 date.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TIME_ERROR = 5  # adjtimex() result: clock not synchronised
EARLIEST_PLAUSIBLE = datetime(2026, 1, 1, tzinfo=UTC)
"""No kiosk running this software can truly be earlier than this (before its release)."""


@dataclass(frozen=True, slots=True)
class ClockReading:
    time: datetime
    time_synced: bool
    boot_id: str
    mono_ms: int

    def header_fields(self) -> dict[str, object]:
        return {
            "time": self.time,
            "time_synced": self.time_synced,
            "boot_id": self.boot_id,
            "mono_ms": self.mono_ms,
        }


@functools.cache
def _libc() -> ctypes.CDLL:
    """The C library, loaded once: ``find_library`` runs ``ldconfig -p`` as a subprocess.

    A failure to load raises (and is not cached), so callers handle it as before."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def kernel_clock_synchronised() -> bool:
    """True when the kernel says NTP (or an RTC-disciplined daemon) keeps the clock in sync."""
    try:
        libc = _libc()
        buffer = ctypes.create_string_buffer(512)  # struct timex, zeroed: modes=0 reads only
        return int(libc.adjtimex(buffer)) not in (-1, TIME_ERROR)
    except (OSError, AttributeError):
        return False


def local_day(when: datetime, zone: ZoneInfo) -> date:
    """The calendar day at ``when`` (aware) where the kiosk stands: a kit printed "expires
    2026-11-24" is usable through that day in the kiosk's zone, not through that day in UTC.
    Every "today" of the kiosk is this, of the wall clock (``ClockSection.today``) or of the
    kiosk's clock (``KioskClock.today``)."""
    return when.astimezone(zone).date()


class KioskClock:
    """Stamps records. ``wall``, ``synced`` and ``monotonic`` are seams for tests."""

    def __init__(
        self,
        *,
        trust_system_clock: bool = False,
        wall: Callable[[], datetime] | None = None,
        synced: Callable[[], bool] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        floor: datetime | None = None,
    ) -> None:
        self.boot_id = uuid.uuid4().hex
        self._monotonic = monotonic
        self._mono_start = monotonic()
        self._wall = wall or (lambda: datetime.now(UTC))
        if synced is not None:
            self._synced = synced
        elif trust_system_clock:
            self._synced = lambda: True
        else:
            self._synced = kernel_clock_synchronised
        self._lock = threading.Lock()
        self._floor_at_start = EARLIEST_PLAUSIBLE
        self._latest_synced: datetime | None = None
        self._latest_synced_mono = 0.0
        if floor is not None:
            self.raise_floor(floor)

    def raise_floor(self, floor: datetime) -> None:
        """Tell the clock a time known to have passed before this start (the persisted floor)."""
        with self._lock:
            self._floor_at_start = max(self._floor_at_start, floor)

    def mono_ms(self) -> int:
        return int((self._monotonic() - self._mono_start) * 1000)

    def lower_bound(self) -> datetime:
        """The earliest the true time can be now: the floor known at start, or the latest
        synchronised stamp since, plus the monotonic time elapsed after each."""
        now_mono = self._monotonic()
        bound = self._floor_at_start + timedelta(seconds=now_mono - self._mono_start)
        with self._lock:
            if self._latest_synced is not None:
                since = timedelta(seconds=now_mono - self._latest_synced_mono)
                bound = max(bound, self._latest_synced + since)
        return bound

    def today(self, zone: ZoneInfo) -> date:
        """Today in ``zone`` by this clock (never before its floor)."""
        return local_day(self.now().time, zone)

    def now(self) -> ClockReading:
        wall = self._wall()
        bound = self.lower_bound()
        if wall < bound:
            # The wall clock is behind what we know for certain: it has no RTC, lost its
            # battery, or was stepped back. Use the bound and say it is not synchronised.
            reading_time, synced = bound, False
        else:
            reading_time, synced = wall, self._synced()
        if synced:
            with self._lock:
                if self._latest_synced is None or reading_time > self._latest_synced:
                    self._latest_synced = reading_time
                    self._latest_synced_mono = self._monotonic()
        return ClockReading(
            time=reading_time.astimezone(UTC),
            time_synced=synced,
            boot_id=self.boot_id,
            mono_ms=self.mono_ms(),
        )
