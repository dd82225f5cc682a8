"""Producers at the kiosk: registration into the ledger, PINs as scrypt hashes, the cloud's
versioned roster replacing the local copy, identification offline, the recent list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.pins import BadPin, hash_pin, pin_matches
from gateway.producers import RegistrationError
from protocol import Roster, RosterEntry, decode
from tests.support import cloud_key


def roster(version, *entries, device="kiosk-0001", made=None):
    """A whole roster (one page), signed as the cloud signs it."""
    return Roster.model_validate(cloud_key.signed({
        "v": 1, "kind": "roster", "device_id": device, "version": version, "page": 0,
        "pages": 1, "generated_at": (made or datetime.now(UTC)).isoformat(),
        "producers": [e.model_dump(mode="json") for e in entries]}))


def entry(pid, name="孙富贵", card=None, pin=None, active=True):
    return RosterEntry(producer_id=pid, name=name, phone="13912345678", origin_code="370902",
                       card_code=card, pin_hash=hash_pin(pin) if pin else None, active=active)


def test_pins_are_scrypt_hashes_that_check_and_refuse_junk():
    stored = hash_pin("2468")
    assert stored.startswith("scrypt$16384$8$1$")
    assert "2468" not in stored
    assert pin_matches("2468", stored)
    assert not pin_matches("2469", stored)
    assert hash_pin("2468") != stored  # salted
    for junk in ("", "scrypt$x", "bcrypt$1$2$3$4$5", "scrypt$3$8$1$AAAA$BBBB",
                 "scrypt$1048576$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"):
        assert not pin_matches("2468", junk), junk  # malformed or too expensive to check
    with pytest.raises(BadPin):
        hash_pin("12a4")
    assert not pin_matches("12", stored)


def test_registration_is_a_ledger_record_and_identifies_offline(gateway):
    reg = gateway.books.producers
    producer = reg.register(name=" 吴  红梅 ", phone="13812345678", origin_code="370902",
                            origin_detail="东村", pin="1357")
    assert producer.name == "吴 红梅"
    assert producer.source == "local"
    assert reg.by_card(producer.entry.card_code).producer_id == producer.producer_id
    assert reg.verify_pin(producer.producer_id, "1357")
    assert not reg.verify_pin(producer.producer_id, "7531")
    assert not reg.verify_pin("P-NOBODY", "1357")
    [record] = gateway.books.outbox.next_batch(10)
    event = decode(record.topic, record.payload).message
    assert event.kind == "producer" and event.producer.registered_by == "kiosk-0001"
    assert event.producer.card_code == producer.entry.card_code


@pytest.mark.parametrize("field,kwargs", [
    ("phone", {"phone": "abc"}),
    ("name", {"name": ""}),
    ("origin_code", {"origin_code": "12"}),
    ("pin", {"pin": "12"}),
])
def test_a_bad_registration_names_the_field_and_keeps_nothing(gateway, field, kwargs):
    values = {"name": "徐淑芬", "phone": "13812345678", "origin_code": "370902", "pin": "1357",
              **kwargs}
    with pytest.raises(RegistrationError) as caught:
        gateway.books.producers.register(**values)
    assert caught.value.field == field
    assert gateway.books.producers.count() == 0
    assert gateway.books.outbox.next_batch(10) == []


def test_a_newer_roster_replaces_the_copy_and_an_older_one_is_ignored(gateway):
    reg = gateway.books.producers
    assert reg.roster_version is None
    assert reg.apply_roster(roster(3, entry("P-A", card="CARD-A", pin="1111"), entry("P-B")))
    assert reg.roster_version == 3
    assert reg.by_card("CARD-A").producer_id == "P-A"
    assert reg.verify_pin("P-A", "1111")
    assert not reg.apply_roster(roster(2, entry("P-C")))  # older: ignored
    assert not reg.apply_roster(roster(3, entry("P-C")))  # same version: ignored
    assert reg.get("P-C") is None
    assert reg.apply_roster(roster(4, entry("P-B", name="孙富贵"),
                                   entry("P-A", card="CARD-A", active=False)))
    assert reg.get("P-A") is None and reg.by_card("CARD-A") is None  # deactivated
    assert reg.get("P-B").source == "roster"
    with pytest.raises(ValueError, match="not for kiosk-0001"):
        reg.apply_roster(roster(9, device="kiosk-0002"))


def test_a_producer_registered_offline_survives_a_roster_that_does_not_list_them_yet(gateway):
    reg = gateway.books.producers
    local = reg.register(name="马长顺", phone="13812345678", origin_code="370902", pin="2222")
    old = datetime.now(UTC) - timedelta(hours=1)
    reg.apply_roster(roster(1, entry("P-X"), made=old))
    assert reg.get(local.producer_id) is not None  # not acknowledged by the cloud yet
    gateway.books.outbox.mark_acked(gateway.books.outbox.stats().last_seq)
    reg.apply_roster(roster(2, entry("P-X"), made=old))
    assert reg.get(local.producer_id) is not None  # the roster predates the registration
    reg.apply_roster(roster(3, entry("P-X"), made=datetime.now(UTC) + timedelta(seconds=5)))
    assert reg.get(local.producer_id) is None  # the cloud knew and left them out


def test_recent_producers_are_the_latest_seen_first(gateway):
    reg = gateway.books.producers
    a = reg.register(name="甲一", phone="13800000001", origin_code="370902", pin="1111")
    b = reg.register(name="乙二", phone="13800000002", origin_code="370902", pin="1111")
    assert [p.producer_id for p in reg.recent(5)] == [b.producer_id, a.producer_id]
    reg.note_visit(a.producer_id)
    assert [p.producer_id for p in reg.recent(1)] == [a.producer_id]
    assert reg.recent(5)[0].masked_name == "甲*"
    assert reg.recent(5)[0].masked_phone == "****0001"
