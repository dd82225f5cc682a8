"""Authority in the producer registry (issue 11, finding 8): a kiosk changes only its own
station's producers, updates are ordered by what the cloud can trust (never a kiosk's claimed
future), a refused update is a dead letter with its reason, and later genuine updates apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from cloud_bridge.store import Producer, session_factory
from cloud_bridge.store.registry_models import HistoryEntry
from tests.support.cloud import enroll, scalar
from tests.support.kiosk_messages import FakeKiosk

GENUINE_PIN = "scrypt$16384$8$1$" + "a" * 22 + "$" + "b" * 43  # FakeKiosk.producer's
EVIL_PIN = "scrypt$16384$8$1$" + "e" * 22 + "$" + "f" * 43


def write(writer: BatchWriter, *messages: tuple[str, bytes], at: datetime | None = None):
    now = at or datetime.now(UTC)
    return writer.write([Inbound(t, p, i, 1, now) for i, (t, p) in enumerate(messages)])


@pytest.fixture
def kiosks(store: Engine) -> tuple[FakeKiosk, FakeKiosk, FakeKiosk]:
    """D and D2 serve station JL01; E serves JL02."""
    d, d2, e = FakeKiosk(station_id="JL01"), FakeKiosk(station_id="JL01"), FakeKiosk(
        station_id="JL02")
    enroll(store, d, d2, e)
    return d, d2, e


def producer(store: Engine, producer_id: str) -> Producer:
    with session_factory(store)() as session:
        row = session.get(Producer, producer_id)
        assert row is not None
        session.expunge(row)
        return row


def test_another_stations_kiosk_cannot_take_over_a_producer(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, d2, e = kiosks
    write(writer, d.producer("P-JL01-A", phone="13900001111"))
    # E (another station) claims a synchronised time a year ahead, a new phone, card and PIN.
    takeover = e.producer("P-JL01-A", action="updated", phone="13066666666",
                          when=datetime.now(UTC) + timedelta(days=365), registered_by=d.device_id,
                          card_code="EVIL-CARD", pin_hash=EVIL_PIN)
    verdict = write(writer, takeover).verdicts[0]
    assert verdict.outcome is Outcome.DEAD_LETTER
    assert verdict.rejection is not None and verdict.rejection.code == "foreign_producer"
    assert "station JL02" in verdict.rejection.reason and "JL01" in verdict.rejection.reason
    row = producer(store, "P-JL01-A")
    assert (row.phone, row.card_code, row.pin_hash) == ("13900001111", "card-P-JL01-A",
                                                         GENUINE_PIN)
    # Later genuine updates, from the registering kiosk and from another kiosk of its station.
    write(writer, d2.producer("P-JL01-A", action="updated", phone="13922223333",
                              registered_by=d.device_id))
    assert producer(store, "P-JL01-A").phone == "13922223333"
    write(writer, d.producer("P-JL01-A", action="updated", phone="13933334444"))
    assert producer(store, "P-JL01-A").phone == "13933334444"
    assert scalar(store, "SELECT count(*) FROM dead_letters WHERE code = 'foreign_producer'") == 1


def test_a_foreign_update_arriving_before_the_registration_is_refused_too(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, _, e = kiosks
    early = e.producer("P-JL01-B", action="updated", phone="13066666666",
                       registered_by=d.device_id)
    assert write(writer, early).verdicts[0].rejection.code == "foreign_producer"
    write(writer, d.producer("P-JL01-B", phone="13900001111"))
    assert producer(store, "P-JL01-B").station_id == "JL01"


def test_a_kiosk_cannot_register_another_kiosks_producer_id_first(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, _, e = kiosks
    pid = d.new_producer_id()  # printed on the farmer's card while D was offline
    squat = e.producer(pid, phone="13066666666")  # E registers it as its own, first
    refused = write(writer, squat).verdicts[0]
    assert refused.rejection is not None and refused.rejection.code == "foreign_producer"
    assert "not made at its registrar" in refused.rejection.reason
    assert write(writer, d.producer(pid, phone="13900001111")).verdicts[0].outcome is (
        Outcome.RECORDED)
    row = producer(store, pid)
    assert (row.station_id, row.registered_by, row.phone) == ("JL01", d.device_id,
                                                              "13900001111")
    # E's own ids still work for E.
    mine = e.new_producer_id()
    assert write(writer, e.producer(mine)).verdicts[0].outcome is Outcome.RECORDED


def test_a_kiosk_registers_producers_only_as_itself(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, _, e = kiosks
    forged = e.producer("P-JL01-D", registered_by=d.device_id)
    verdict = write(writer, forged).verdicts[0]
    assert verdict.rejection is not None and verdict.rejection.code == "foreign_registrar"
    with session_factory(store)() as session:
        assert session.get(Producer, "P-JL01-D") is None


def test_a_claimed_future_time_cannot_block_later_updates_within_the_station(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, d2, _ = kiosks
    start = datetime.now(UTC)
    write(writer, d.producer("P-JL01-E", phone="13900001111", when=start), at=start)
    # A kiosk whose clock says (synchronised!) it is next year.
    write(writer, d2.producer("P-JL01-E", action="updated", phone="13955555555",
                              registered_by=d.device_id, when=start + timedelta(days=365)),
          at=start + timedelta(minutes=1))
    assert producer(store, "P-JL01-E").phone == "13955555555"
    # The farmer corrects it at the registering kiosk ten minutes later: that is newer.
    later = start + timedelta(minutes=10)
    write(writer, d.producer("P-JL01-E", action="updated", phone="13900002222", when=later),
          at=later + timedelta(seconds=5))
    assert producer(store, "P-JL01-E").phone == "13900002222"


def test_one_kiosks_later_seq_wins_even_when_its_clock_stepped_back(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    d, _, _ = kiosks
    now = datetime.now(UTC)
    first = d.producer("P-JL01-F", phone="13900001111", when=now)
    second = d.producer("P-JL01-F", action="updated", phone="13900002222",
                        when=now - timedelta(hours=2))  # NTP stepped the clock back
    write(writer, second)  # arrives first
    write(writer, first)
    assert producer(store, "P-JL01-F").phone == "13900002222"
    with session_factory(store)() as session:
        actions = session.scalars(select(HistoryEntry.action).where(
            HistoryEntry.entity_id == "P-JL01-F").order_by(HistoryEntry.id)).all()
    assert actions == ["updated", "not_applied"]  # the older change is recorded as such


def test_a_kiosk_cannot_charge_another_stations_producer_with_a_lot_or_certificate(
    store: Engine, writer: BatchWriter, kiosks: tuple[FakeKiosk, FakeKiosk, FakeKiosk]
) -> None:
    """A positive lot, or a certificate later voided or rejected, counts against the producer
    it names: another station's kiosk must not be able to name them."""
    d, d2, e = kiosks
    known = d.new_producer_id()
    write(writer, d.producer(known))
    not_yet_recorded = d.new_producer_id()  # registered at D offline; read off the card
    for pid in (known, not_yet_recorded):
        verdicts = write(writer, e.lot("blocked_positive", producer_id=pid),
                         e.certificate(producer_id=pid)).verdicts
        assert [v.rejection.code if v.rejection else None for v in verdicts] == [
            "foreign_producer"] * 2, pid
    assert scalar(store, "SELECT count(*) FROM credit_events") == 0
    assert scalar(store, "SELECT count(*) FROM certificates") == 0
    # The producer's own station may: D2 (same station) and D itself.
    assert write(writer, d2.lot("blocked_positive", producer_id=known)).verdicts[0].outcome is (
        Outcome.RECORDED)
    assert write(writer, d.certificate(producer_id=not_yet_recorded)).verdicts[0].outcome is (
        Outcome.RECORDED)
    assert scalar(store, "SELECT count(*) FROM credit_events") == 1
