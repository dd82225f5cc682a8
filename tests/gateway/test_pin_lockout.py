"""Wrong PINs are counted per producer in the kiosk database (issue 11, finding 10): going
back and picking the name again, another session or a restart never starts the count again;
timed locks back off; after ``pin_max_failures`` only staff unlock the name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.app import Gateway
from gateway.session import Step
from tests.gateway.session_helpers import ready_gateway
from tests.support import aio

PIN = "6931"


class WallClock:
    """The kiosk's wall clock as the lockout reads it, moved by the test."""

    def __init__(self) -> None:
        self.t = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta: float) -> None:
        self.t += timedelta(**delta)


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def kiosk(tmp_path, wall):
    gw = ready_gateway(tmp_path / "kiosk", kits=())
    gw.books.producers.pins.now = wall
    yield gw
    gw.close()


def restart(gw: Gateway, wall: WallClock) -> Gateway:
    """Close the kiosk and open it again on the same data folder (a power cycle)."""
    gw.close()
    again = Gateway.open(gw.settings)
    again.books.producers.pins.now = wall
    return again


def register(gw: Gateway) -> str:
    return gw.books.producers.register(name="陈国庆", phone="13500004444", origin_code="370902",
                                 pin=PIN).producer_id


def test_going_back_and_picking_the_name_again_does_not_reset_the_count(kiosk) -> None:
    session = kiosk.session
    producer_id = register(kiosk)

    async def scenario() -> None:
        await session.start()
        await session.pick_producer(producer_id)
        await session.enter_pin("0000")
        await session.enter_pin("0001")
        assert session.view.notice.params == {"left": 1}
        await session.back()
        await session.pick_producer(producer_id)
        await session.enter_pin("0002")  # the third wrong PIN in a row, whatever the screens

    aio.run(scenario())
    assert session.step is Step.IDENTIFY
    assert session.view.notice.code == "notice.pin_locked"
    assert session.view.notice.params == {"minutes": 5}


def test_the_lock_survives_a_restart_and_backs_off(kiosk, wall) -> None:
    producer_id = register(kiosk)

    async def wrong_pins(gw: Gateway, count: int) -> None:
        await gw.session.pick_producer(producer_id)
        for n in range(count):
            await gw.session.enter_pin(f"000{n}")

    aio.run(kiosk.session.start())
    aio.run(wrong_pins(kiosk, 3))
    gw = restart(kiosk, wall)
    try:
        session = gw.session

        async def right_pin() -> None:
            await session.start()
            await session.pick_producer(producer_id)
            await session.enter_pin(PIN)  # even the right PIN, while locked

        aio.run(right_pin())
        assert session.step is Step.IDENTIFY
        assert session.view.notice.code == "notice.pin_locked"
        wall.advance(minutes=5, seconds=1)
        aio.run(wrong_pins(gw, 3))  # the lock ended; three more wrong: twice as long
        assert session.view.notice.params == {"minutes": 10}
        wall.advance(minutes=10, seconds=1)
        aio.run(session.pick_producer(producer_id))
        aio.run(session.enter_pin(PIN))
        assert session.step is Step.PRODUCT  # the farmer got it right: the count is forgotten
        assert gw.books.producers.pins.counted() == []
    finally:
        gw.close()


def test_seven_thousand_guesses_cannot_find_a_pin(kiosk, wall, monkeypatch, capsys) -> None:
    """The attack of the report: pick, two guesses, back, pick again... over 7,000 guesses,
    with the wall clock moved an hour per round (outwaiting every timed lock) and the kiosk
    restarted along the way. The PIN (6931) is among the guesses."""
    producer_id = register(kiosk)
    gw = kiosk
    checked: list[str] = []
    real = type(gw.books.producers).verify_pin

    def counting(self, pid: str, pin: str) -> bool:  # type: ignore[no-untyped-def]
        checked.append(pin)
        return real(self, pid, pin)

    monkeypatch.setattr(type(gw.books.producers), "verify_pin", counting)

    async def guesses(session, start: int, stop: int) -> None:
        await session.start()
        for first in range(start, stop, 2):
            await session.pick_producer(producer_id)
            for guess in range(first, min(first + 2, stop)):
                if session.step is not Step.PIN:
                    break
                await session.enter_pin(f"{guess:04d}")
                assert session.step is not Step.PRODUCT, f"found the PIN after {guess} guesses"
            if session.step is Step.PIN:
                await session.back()
            wall.advance(hours=1)

    try:
        for start in range(0, 7000, 2500):
            aio.run(guesses(gw.session, start, min(start + 2500, 7000)))
            assert gw.session.view.notice.code == "notice.pin_locked_staff"
            gw = restart(gw, wall)
        assert len(checked) == gw.settings.session.pin_max_failures == 9  # 9 of 10,000
        # Station staff check who is asking and unlock the name; the farmer's PIN works again.
        config = gw.settings.device.data_dir / "gateway.toml"
        from gateway.settings_toml import write_settings
        from nongan.cli import main as nongan

        write_settings(gw.settings, config)
        assert nongan(["pins", "list", "--config", str(config), "--json"]) == 0
        assert f'"producer_id": "{producer_id}"' in capsys.readouterr().out
        assert nongan(["pins", "unlock", producer_id, "--config", str(config)]) == 0
        assert nongan(["pins", "unlock", producer_id, "--config", str(config)]) == 1

        async def farmer() -> None:
            await gw.session.start()
            await gw.session.pick_producer(producer_id)
            await gw.session.enter_pin(PIN)

        aio.run(farmer())
        assert gw.session.step is Step.PRODUCT
    finally:
        gw.close()
