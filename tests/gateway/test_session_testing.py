"""The session's tests and verdicts: negative → certificate, positive → blocked lot, suspect →
re-test, refusals, device faults, printing trouble and voiding. Real scorer, simulated
devices, the kiosk's real ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.session import Step
from protocol import Call, decode
from tests.gateway.session_helpers import (
    CLEAN,
    DIRTY,
    SUSPECT,
    identify_new_producer,
    ready_gateway,
    run_cassette,
    to_panel,
)
from tests.gateway.station_helpers import simulated_gateway, stock
from tests.support import aio

CARD = "card-beta-agonists-3in1-v1"
SINGLES = ("gold-clenbuterol-v1", "gold-ractopamine-v1", "gold-salbutamol-v1")


@pytest.fixture
def kiosk(tmp_path):
    gw = ready_gateway(tmp_path / "kiosk", kits=(CARD,))
    yield gw
    gw.close()


def messages(gw, kind):
    return [m for m in (decode(r.topic, r.payload).message for r in gw.books.outbox.next_batch(500))
            if m.kind == kind]


def strips_left(gw, kit_id=CARD):
    return sum(b.strips_left for b in gw.books.stock.boxes(kit_id))


async def cattle_tested(gw, truth, quantity="3", unit="head"):
    session = gw.session
    await identify_new_producer(session)
    await to_panel(session, "beef_cattle", quantity, unit)
    await session.confirm_panel()
    return await run_cassette(gw, session, truth)


def test_a_clean_lot_gets_a_certificate_committed_before_printing(kiosk):
    session = kiosk.session

    async def scenario():
        assert await cattle_tested(kiosk, CLEAN) is Step.RESULTS
        view = session.view
        assert [r.call for r in view.results] == ["negative"] * 3
        await session.issue()

    aio.run(scenario())
    view = session.view
    assert view.step is Step.CERTIFICATE
    cert = view.certificate
    assert cert.print_status == "printed"
    assert cert.verify_url.endswith("/c/" + cert.token)
    stored, status = kiosk.books.issuer.get(cert.token)
    assert status == "issued" and stored.quantity == 3 and stored.unit == "头"
    assert [t.analyte_code for t in stored.tests] == ["clenbuterol", "ractopamine", "salbutamol"]
    [lot] = messages(kiosk, "lot")
    assert lot.outcome == "certified" and lot.certificate_token == cert.token
    assert len(lot.reading_ids) == 3
    [issued] = messages(kiosk, "certificate")
    assert issued.seq < lot.seq or issued.seq > lot.seq  # both queued
    assert strips_left(kiosk) == 19  # one card for three analytes
    assert len(kiosk.devices.printer.images) == 2  # the producer's card, then the certificate


def test_the_panel_prefers_one_card_to_three_strips_when_both_are_stocked(tmp_path):
    gw = ready_gateway(tmp_path / "k", kits=(CARD, *SINGLES))
    try:
        async def scenario():
            await identify_new_producer(gw.session)
            await to_panel(gw.session, "sheep", "2", "head")
            await gw.session.confirm_panel()

        aio.run(scenario())
        assert [t.kit_id for t in gw.session.person.testing.plan] == [CARD]
    finally:
        gw.close()


def test_single_strips_one_after_another_when_there_is_no_card(tmp_path):
    gw = ready_gateway(tmp_path / "k", kits=SINGLES)
    session = gw.session
    try:
        async def scenario():
            await identify_new_producer(session)
            await to_panel(session, "sheep", "2", "head")
            await session.confirm_panel()
            assert session.view.test.total == 3
            assert await run_cassette(gw, session, CLEAN) is Step.PREPARE
            assert session.view.notice.code == "notice.test_negative_next"
            assert session.view.tests_done == 1
            assert await run_cassette(gw, session, CLEAN) is Step.PREPARE
            assert await run_cassette(gw, session, CLEAN) is Step.RESULTS

        aio.run(scenario())
    finally:
        gw.close()


def test_a_positive_blocks_the_lot_at_once_and_tells_the_supervisor(tmp_path):
    gw = ready_gateway(tmp_path / "k", kits=SINGLES)
    session = gw.session
    try:
        async def scenario():
            assert await cattle_tested(gw, DIRTY) is Step.BLOCKED
            # The alarm is queued before the person does anything more.
            [lot] = messages(gw, "lot")
            assert lot.outcome == "blocked_positive"
            assert "clenbuterol" in lot.note
            with pytest.raises(Exception, match="not possible"):
                await session.issue()
            await session.finish()

        aio.run(scenario())
        assert session.step is Step.IDLE
        assert messages(gw, "certificate") == []
        assert len(messages(gw, "lot")) == 1  # finishing adds nothing
        # No further strip is spent on a blocked lot.
        assert strips_left(gw, SINGLES[0]) == 19
        assert strips_left(gw, SINGLES[1]) == strips_left(gw, SINGLES[2]) == 20
    finally:
        gw.close()


def test_a_suspect_reading_is_retested_with_a_new_strip(kiosk):
    session = kiosk.session

    async def scenario():
        assert await cattle_tested(kiosk, {"ractopamine": SUSPECT}) is Step.RETEST
        view = session.view
        assert view.test.analytes == ("ractopamine",)
        ractopamine = next(r for r in view.results if r.analyte == "ractopamine")
        assert ractopamine.call in ("suspect", "invalid")
        if ractopamine.call == "suspect":
            assert "tc_in_suspect_band" in ractopamine.reason_codes
        await session.retest()
        assert session.step is Step.PREPARE and session.view.test.attempt == 2
        assert await run_cassette(kiosk, session, CLEAN, seed=5) is Step.RESULTS
        await session.issue()

    aio.run(scenario())
    cert, _ = kiosk.books.issuer.get(session.view.certificate.token)
    readings = {t.analyte_code: t for t in cert.tests}
    assert all(t.call is Call.NEGATIVE for t in cert.tests)
    second = kiosk.books.readings.get(readings["ractopamine"].reading_id)
    assert second.attempt == 2
    assert strips_left(kiosk) == 18


def test_still_suspect_after_the_retests_allowed_is_not_negative(kiosk):
    session = kiosk.session
    allowed = kiosk.settings.station.max_retests

    async def scenario():
        step = await cattle_tested(kiosk, {"salbutamol": SUSPECT})
        for attempt in range(allowed):
            assert step is Step.RETEST
            await session.retest()
            step = await run_cassette(kiosk, session, {"salbutamol": SUSPECT}, seed=attempt + 7)
        assert step is Step.UNRESOLVED

    aio.run(scenario())
    [lot] = messages(kiosk, "lot")
    assert lot.outcome == "blocked_unresolved"
    assert len(lot.reading_ids) == 3 + allowed
    assert strips_left(kiosk) == 20 - (1 + allowed)
    assert messages(kiosk, "certificate") == []


def test_an_expired_kit_is_refused_before_any_strip_is_taken(tmp_path):
    gw = ready_gateway(tmp_path / "k", kits=())
    gw.books.stock.register_box(box_code="OLD-1", kit_id=CARD, lot="DEMO-2026B",
                          expires_on=date(2020, 1, 1), strips=10)
    session = gw.session
    try:
        async def scenario():
            await identify_new_producer(session)
            await to_panel(session, "beef_cattle", "1", "head")
            await session.confirm_panel()
            assert session.step is Step.REFUSED
            codes = {r.code for r in session.view.refusals}
            assert "expired" in codes
            assert {r.kit_id for r in session.view.refusals if r.code == "expired"} == {CARD}
            await session.finish()

        aio.run(scenario())
        assert messages(gw, "lot") == []  # no strip used: nothing for the supervisor
        assert gw.books.stock.boxes(CARD)[0].strips_left == 10
    finally:
        gw.close()


def test_an_overdue_calibration_stops_the_kiosk_at_the_welcome_screen(tmp_path):
    gw = simulated_gateway(tmp_path / "k")
    stock(gw, CARD)
    gw.books.calibrations.record(gw.settings.station.reader_id, passed=True, figures={},
                                 problems=[], flat_field=None,
                                 performed_at=datetime.now(UTC) - timedelta(days=40))
    try:
        aio.run(gw.session.start())
        assert gw.session.step is Step.REFUSED
        assert [r.code for r in gw.session.view.refusals] == ["calibration_overdue"]
    finally:
        gw.close()


def test_a_camera_fault_is_refused_at_start(kiosk):
    kiosk.devices.camera.unplug()
    aio.run(kiosk.session.start())
    assert kiosk.session.step is Step.REFUSED
    assert [r.code for r in kiosk.session.view.refusals] == ["device_fault"]


def test_a_device_fault_mid_test_is_an_error_that_can_be_retested_or_left(kiosk):
    session = kiosk.session

    async def scenario():
        await identify_new_producer(session)
        await to_panel(session, "beef_cattle", "1", "head")
        await session.confirm_panel()
        # The board refuses to light the LED after incubation (the strip is spent).
        kiosk.devices.reader.fail_next("led", "board_fault")
        assert await run_cassette(kiosk, session, CLEAN) is Step.ERROR
        assert session.view.error_code == "device"
        await session.retest()
        assert session.step is Step.PREPARE and session.view.test.attempt == 2
        await session.cancel()

    aio.run(scenario())
    [lot] = messages(kiosk, "lot")
    assert lot.outcome == "abandoned"  # a strip was used, then the person left
    assert "1 strip" in lot.note



def test_a_disk_failure_after_the_reading_is_an_error_not_a_frozen_screen(kiosk, monkeypatch):
    from gateway.storage import StorageError

    def disk_full(*args, **kwargs):
        raise StorageError("database or disk is full")

    session = kiosk.session

    async def scenario():
        await identify_new_producer(session)
        await to_panel(session, "beef_cattle", "1", "head")
        await session.confirm_panel()
        monkeypatch.setattr(kiosk.session.parts.lots, "add_readings", disk_full)
        assert await run_cassette(kiosk, session, CLEAN) is Step.ERROR
        assert session.view.error_code == "storage"

    aio.run(scenario())

def test_a_printer_out_of_paper_keeps_the_certificate_and_reprints(kiosk):
    session = kiosk.session
    printer = kiosk.devices.printer

    async def scenario():
        assert await cattle_tested(kiosk, CLEAN) is Step.RESULTS
        printer.run_out_of_paper()
        await session.issue()
        view = session.view
        assert view.certificate.print_status == "out_of_paper"
        assert view.notice.code == "notice.print_out_of_paper"
        # Committed and queued before printing: nothing is lost.
        assert kiosk.books.issuer.get(view.certificate.token)[1] == "issued"
        assert len(messages(kiosk, "certificate")) == 1
        printer.load_paper()
        await session.reprint()
        assert session.view.certificate.print_status == "printed"
        printer.go_offline()
        await session.reprint()
        assert session.view.certificate.print_status == "offline"

    aio.run(scenario())
    assert len(messages(kiosk, "certificate")) == 1  # reprinting issues nothing new


def test_voiding_for_a_wrong_quantity_reissues_with_the_right_one(kiosk):
    session = kiosk.session

    async def scenario():
        await cattle_tested(kiosk, CLEAN, quantity="30")
        await session.issue()
        first = session.view.certificate.token
        await session.void("wrong_quantity")
        assert session.step is Step.QUANTITY and session.view.correcting
        await session.set_quantity("3", "head")
        assert session.step is Step.RESULTS
        await session.issue()
        return first, session.view.certificate.token

    first, second = aio.run(scenario())
    assert first != second
    assert kiosk.books.issuer.get(first)[1] == "voided"
    assert kiosk.books.issuer.get(second)[0].quantity == 3
    events = messages(kiosk, "certificate")
    assert [e.body.action for e in events] == ["issued", "voided", "issued"]
    assert events[1].body.reason.startswith("wrong quantity")
    lots = messages(kiosk, "lot")
    assert [(lot.outcome, lot.certificate_token) for lot in lots] == [
        ("certified", first), ("certified", second)]
    assert lots[0].session_id == lots[1].session_id  # one lot, two outcomes in order
    assert lots[0].note == "" and first in lots[1].note and "re-issue" in lots[1].note


def test_voiding_after_a_printer_jam_issues_and_prints_a_new_one(kiosk):
    session = kiosk.session

    async def scenario():
        await cattle_tested(kiosk, CLEAN)
        await session.issue()
        first = session.view.certificate.token
        await session.void("printer_jam")
        return first

    first = aio.run(scenario())
    assert session.step is Step.CERTIFICATE
    assert session.view.certificate.token != first
    assert session.view.certificate.print_status == "printed"
    assert kiosk.books.issuer.get(first)[1] == "voided"


def test_voiding_for_another_reason_ends_without_a_new_certificate(kiosk):
    session = kiosk.session

    async def scenario():
        await cattle_tested(kiosk, CLEAN)
        await session.issue()
        await session.void("other")
        await session.reprint()  # a voided certificate is not reprinted
        assert session.view.notice.code == "notice.voided"
        with pytest.raises(ValueError):
            await session.void("because")
        await session.finish()

    aio.run(scenario())
    assert [e.body.action for e in messages(kiosk, "certificate")] == ["issued", "voided"]
