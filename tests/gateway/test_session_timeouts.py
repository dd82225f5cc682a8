"""Every screen that waits for the person times out: a warning with one tap to continue
first, then the session ends, the lot is closed honestly and the person's data is wiped."""

from __future__ import annotations

import asyncio

import pytest

from gateway.session import KioskSession, Step
from protocol import decode
from tests.gateway.session_helpers import (
    CLEAN,
    DIRTY,
    SUSPECT,
    FakeClock,
    ready_gateway,
    run_cassette,
)
from tests.support import aio

CARD = "card-beta-agonists-3in1-v1"


@pytest.fixture
def kiosk(tmp_path):
    gw = ready_gateway(tmp_path / "kiosk", kits=(CARD,),
                       session={"step_timeout_s": 60, "long_step_timeout_s": 200,
                                "warning_s": 15},
                       station={"cassette_timeout_s": 90, "max_retests": 1})
    clock = FakeClock()
    gw.gateway.session = KioskSession(gw.session.parts, now=clock)
    gw.clock_for_test = clock  # type: ignore[attr-defined]
    yield gw
    gw.close()


def lots(gw):
    return [m for m in (decode(r.topic, r.payload).message for r in gw.books.outbox.next_batch(500))
            if m.kind == "lot"]


async def reach(gw, step: Step) -> None:
    """Walk the session to ``step`` as a person would."""
    s = gw.session
    if step is Step.REFUSED:
        gw.devices.camera.unplug()
        await s.start()
        return
    await s.start()
    if step is Step.IDENTIFY:
        return
    if step is Step.REGISTER:
        await s.begin_registration()
        return
    producer = gw.books.producers.register(name="赵永福", phone="13100007777", origin_code="370902",
                                     pin="2580")
    if step is Step.PIN:
        await s.pick_producer(producer.producer_id)
        return
    await s.scan(producer.entry.card_code)
    if step is Step.PRODUCT:
        return
    await s.choose_product("beef_cattle")
    if step is Step.QUANTITY:
        return
    await s.set_quantity("2", "head")
    if step is Step.PANEL:
        return
    await s.confirm_panel()
    if step is Step.PREPARE:
        return
    if step is Step.INSERT:
        while s.step is Step.PREPARE:
            await s.next_prep()
        async with asyncio.timeout(10):  # the station has taken a strip, the tray is open
            while s.view.test.phase != "insert":
                await s.wait_for_change(s.version, 1.0)
        return
    if step is Step.ERROR:
        gw.devices.reader.fail_next("led", "board_fault")
    truth = {Step.RETEST: {"clenbuterol": SUSPECT}, Step.BLOCKED: DIRTY,
             Step.ERROR: CLEAN}.get(step, CLEAN)
    if step is Step.UNRESOLVED:
        await run_cassette(gw, s, {"clenbuterol": SUSPECT})
        await s.retest()
        truth = {"clenbuterol": SUSPECT}
    reached = await run_cassette(gw, s, truth, seed=3)
    if step is Step.CERTIFICATE:
        await s.issue()
        reached = s.step
    assert reached is step, (reached, s.view.notice)


PERSON_STEPS = [Step.IDENTIFY, Step.PIN, Step.REGISTER, Step.PRODUCT, Step.QUANTITY,
                Step.PANEL, Step.PREPARE, Step.INSERT, Step.RETEST, Step.RESULTS,
                Step.CERTIFICATE, Step.BLOCKED, Step.UNRESOLVED, Step.REFUSED, Step.ERROR]


@pytest.mark.parametrize("step", PERSON_STEPS, ids=[s.value for s in PERSON_STEPS])
def test_every_waiting_screen_warns_then_times_out_and_wipes(kiosk, step):
    s = kiosk.session
    clock = kiosk.clock_for_test
    settings = kiosk.settings

    async def scenario():
        await reach(kiosk, step)
        assert s.step is step
        timeout = (settings.station.cassette_timeout_s if step is Step.INSERT else
                   settings.session.long_step_timeout_s
                   if step in (Step.REGISTER, Step.PREPARE) else settings.session.step_timeout_s)
        assert s.view.seconds_left == pytest.approx(timeout)
        clock.advance(timeout - settings.session.warning_s - 1)
        await s.tick()
        assert not s.view.warning
        clock.advance(2)
        await s.tick()
        assert s.view.warning and s.step is step
        await s.keep_alive()  # one tap to continue
        assert not s.view.warning
        assert s.view.seconds_left == pytest.approx(timeout)
        clock.advance(timeout + 1)
        await s.tick()

    aio.run(scenario())
    view = s.view
    assert view.step is Step.IDLE
    assert view.producer is None and view.product_code is None and view.certificate is None
    assert view.results == () and view.refusals == ()
    assert s.person.identity.producer is None and s.person.lot.readings.results == {}


def test_a_timeout_on_the_insert_screen_abandons_the_lot_whose_strip_was_taken(kiosk):
    aio.run(_time_out_at(kiosk, Step.INSERT))
    [lot] = lots(kiosk)
    assert lot.outcome == "abandoned"
    assert "1 strip" in lot.note
    assert kiosk.devices.reader.tray == "out"  # the tray is given back


def test_a_timeout_before_any_strip_reports_nothing(kiosk):
    aio.run(_time_out_at(kiosk, Step.PREPARE))
    assert lots(kiosk) == []
    assert not kiosk.books.lots.is_open(kiosk.session.person.session_id)


def test_a_timeout_after_a_positive_does_not_report_the_lot_twice(kiosk):
    aio.run(_time_out_at(kiosk, Step.BLOCKED))
    assert [lot.outcome for lot in lots(kiosk)] == ["blocked_positive"]


def test_a_timeout_after_a_suspect_reading_reports_the_walk_away(kiosk):
    aio.run(_time_out_at(kiosk, Step.RETEST))
    [lot] = lots(kiosk)
    assert lot.outcome == "abandoned" and len(lot.reading_ids) == 3


async def _time_out_at(gw, step):
    await reach(gw, step)
    gw.clock_for_test.advance(10_000)
    await gw.session.tick()
    assert gw.session.step is Step.IDLE


def test_the_machine_working_never_times_out(kiosk):
    s = kiosk.session

    async def scenario():
        await reach(kiosk, Step.INSERT)
        s._go(Step.INCUBATING)  # as the station's progress does
        kiosk.clock_for_test.advance(10_000)
        await s.tick()
        assert s.step is Step.INCUBATING
        await s.cancel()

    aio.run(scenario())


def test_a_tap_just_before_the_timeout_is_never_overtaken_by_it(kiosk):
    s = kiosk.session
    clock = kiosk.clock_for_test

    async def scenario():
        await reach(kiosk, Step.PANEL)
        clock.advance(kiosk.settings.session.step_timeout_s - 0.5)
        action = asyncio.create_task(s.confirm_panel())
        await asyncio.sleep(0)  # the action has started and awaits the kit planning
        clock.advance(1.0)  # the old deadline has passed while it works
        await s.tick()
        await action

    aio.run(scenario())
    assert s.step is Step.PREPARE and s.person.identity.producer is not None
