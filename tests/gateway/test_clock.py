from datetime import UTC, datetime, timedelta

from gateway.app import Gateway
from gateway.clock import EARLIEST_PLAUSIBLE, KioskClock
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading


class FakeTime:
    def __init__(self, wall: datetime) -> None:
        self.wall = wall
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def clock_for(fake: FakeTime, synced: bool = True, floor=None) -> KioskClock:
    return KioskClock(wall=lambda: fake.wall, synced=lambda: synced,
                      monotonic=lambda: fake.mono, floor=floor)


def test_a_synchronised_clock_is_used_as_is():
    fake = FakeTime(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    reading_ = clock_for(fake).now()
    assert reading_.time == fake.wall and reading_.time_synced


def test_a_1970_clock_never_reaches_a_record():
    fake = FakeTime(datetime(1970, 1, 1, tzinfo=UTC))
    clock = clock_for(fake, synced=False)
    fake.advance(30)
    stamp = clock.now()
    assert stamp.time == EARLIEST_PLAUSIBLE + timedelta(seconds=30)
    assert stamp.time_synced is False
    assert stamp.mono_ms == 30_000


def test_a_clock_behind_the_floor_is_flagged_even_if_the_kernel_trusts_it():
    floor = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    fake = FakeTime(datetime(2026, 11, 1, tzinfo=UTC))  # stepped back three weeks
    stamp = clock_for(fake, synced=True, floor=floor).now()
    assert stamp.time == floor and stamp.time_synced is False


def test_the_floor_persists_across_restarts_with_the_records(tmp_path):
    settings = kiosk_settings(tmp_path / "kiosk")
    good = FakeTime(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    gw = Gateway.open(settings, clock=clock_for(good))
    recorded = gw.books.readings.record(reading())
    gw.close()
    assert recorded.seq == 1
    # Reboot without a real-time clock: the wall clock says 1970.
    lost = FakeTime(datetime(1970, 1, 1, tzinfo=UTC))
    gw = Gateway.open(settings, clock=clock_for(lost, synced=False))
    try:
        lost.advance(5)
        stamp = gw.clock.now()
        assert stamp.time == good.wall + timedelta(seconds=5)
        assert stamp.time_synced is False
    finally:
        gw.close()


def test_unsynchronised_stamps_do_not_raise_the_floor(tmp_path):
    settings = kiosk_settings(tmp_path / "kiosk")
    future = FakeTime(datetime(2099, 1, 1, tzinfo=UTC))  # a wrong clock far ahead
    gw = Gateway.open(settings, clock=clock_for(future, synced=False))
    gw.books.readings.record(reading())
    gw.close()
    fake = FakeTime(datetime(2026, 11, 24, tzinfo=UTC))
    gw = Gateway.open(settings, clock=clock_for(fake, synced=True))
    try:
        assert gw.clock.now().time == fake.wall
    finally:
        gw.close()


def test_a_step_back_after_a_synchronised_stamp_is_caught_in_the_same_boot():
    fake = FakeTime(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    clock = clock_for(fake, synced=True)
    first = clock.now()
    fake.advance(10)
    fake.wall -= timedelta(hours=5)  # NTP or a person stepped the clock back
    stamp = clock.now()
    assert stamp.time == first.time + timedelta(seconds=10)
    assert stamp.time_synced is False


def test_the_c_library_is_looked_up_once(monkeypatch):
    import ctypes.util

    from gateway import clock

    lookups = []
    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: lookups.append(name)
                        or real(name))
    clock._libc.cache_clear()
    try:
        first = clock.kernel_clock_synchronised()
        assert [clock.kernel_clock_synchronised() for _ in range(5)] == [first] * 5
        assert lookups == ["c"]
    finally:
        clock._libc.cache_clear()


def test_a_c_library_that_will_not_load_means_unsynchronised(monkeypatch):
    from gateway import clock

    def broken(*args, **kwargs):
        raise OSError("no libc here")

    monkeypatch.setattr(clock.ctypes, "CDLL", broken)
    clock._libc.cache_clear()
    try:
        assert clock.kernel_clock_synchronised() is False
        assert clock.kernel_clock_synchronised() is False  # a failure is not cached as a libc
    finally:
        clock._libc.cache_clear()
