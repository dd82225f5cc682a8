"""One message the store refuses never stops the stream (issue 11, finding 1), on both databases.

Each test hands the writer a batch with a poison message among good ones: the poison becomes a
dead letter with its reason, every good message is stored, and nothing raises. Only an outage
raises. Some of the refusals are the store's own (PostgreSQL's btree limit, a constraint a
test adds to the real database), so the isolation is tested against what a database really
says, not against a stub.
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from itertools import count as counter

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from cloud_bridge.store.errors import StoreUnwritable, is_outage
from protocol import StatusMessage, seal, status_topic
from tests.support.cloud import rows, scalar
from tests.support.kiosk_messages import FakeKiosk

_mids = counter(1)


def inbound(message: tuple[str, bytes]) -> Inbound:
    # Received one microsecond apart at least, so ordering dead letters by their first sight
    # is their order in the batch (two clock readings can be equal).
    mid = next(_mids)
    return Inbound(message[0], message[1], mid, 1, datetime.now(UTC) + timedelta(microseconds=mid))


def noise(n: int, seed: int = 1) -> str:
    """Characters that do not compress (so an index really holds ``n`` bytes of them)."""
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def altered(message: tuple[str, bytes], **changes: object) -> tuple[str, bytes]:
    """The message with ``changes`` (its signature no longer matches: these are refused before
    any signature check, and a kiosk could not sign them anyway: RFC 8785 refuses a lone
    surrogate and an integer beyond 2**53)."""
    obj = json.loads(message[1])
    obj.update(changes)
    return message[0], json.dumps(obj).encode()


def outcomes(writer: BatchWriter, *messages: tuple[str, bytes]) -> list[Outcome]:
    return [v.outcome for v in writer.write([inbound(m) for m in messages]).verdicts]


def dead(store: Engine) -> list[tuple[str, str]]:
    """(code, reason) of every dead letter, in the order of their claimed seq."""
    return [(c, r) for c, r in rows(store, "SELECT code, reason FROM dead_letters "
                                    "ORDER BY first_seen, payload_size")]


def test_a_topic_too_long_for_any_index_is_a_dead_letter_and_the_batch_is_stored(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    """The issue's poison: ``{}`` on event/<~8,000 characters>. On PostgreSQL the dead-letter
    row used to exceed the btree maximum; the worker took that for an outage for ever."""
    long_event = (f"nongan/v1/{kiosk.device_id}/event/{noise(8000)}", b"{}")
    long_device = (f"nongan/v1/{noise(6000, 2)}/event/certificate", b"{}")
    got = outcomes(writer, kiosk.certificate(), long_event, kiosk.certificate(), long_device,
                   kiosk.certificate())
    assert got == [Outcome.RECORDED, Outcome.DEAD_LETTER, Outcome.RECORDED,
                   Outcome.DEAD_LETTER, Outcome.RECORDED]
    assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == 3
    letters = rows(store, "SELECT code, length(topic), device_id, count, reason "
                          "FROM dead_letters ORDER BY code")
    assert [row[:4] for row in letters] == [
        ("bad_device_id", len(long_device[0]), None, 1),
        ("bad_topic", len(long_event[0]), kiosk.device_id, 1)]
    # The reasons name the topic, cut short, and say what is wrong.
    assert "unknown event type" in letters[1][4] and len(letters[1][4]) < 400
    # The same poison again counts up its row: a kiosk re-sending it cannot flood the table.
    assert outcomes(writer, long_event) == [Outcome.DEAD_LETTER]
    assert rows(store, "SELECT count FROM dead_letters ORDER BY code") == [(1,), (2,)]


def test_text_a_store_cannot_keep_never_reaches_it(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    """NUL characters and lone surrogates in a JSON key or value, and numbers beyond what a
    column holds, are refused with a reason instead of failing the batch's transaction."""
    topic, payload = kiosk.certificate()
    nul_key = (topic, json.dumps({**json.loads(payload), "\u0000x": 1}).encode())
    # (pydantic refuses a lone surrogate in a text field; a free-form result object keeps it)
    surrogate = altered(kiosk.command_result(), result={"log": "\ud800"})
    huge_seq = altered(kiosk.certificate(seq=90), seq=2**63)
    huge_float = (kiosk.telemetry()[0],
                  kiosk.telemetry()[1].replace(b'"uptime_s":12.5', b'"uptime_s":1e400'))
    got = outcomes(writer, nul_key, surrogate, huge_seq, huge_float, kiosk.certificate(seq=1))
    assert got == [Outcome.DEAD_LETTER] * 4 + [Outcome.RECORDED]
    codes = [c for c, _ in dead(store)]
    assert codes == ["schema", "unstorable", "schema", "malformed"]
    reasons = [r for _, r in dead(store)]
    assert "\x00" not in reasons[0] and "extra" in reasons[0].lower()
    assert "surrogate" in reasons[1]
    assert "less than or equal to 9223372036854775807" in reasons[2]
    assert "too large for a float" in reasons[3]


@pytest.fixture
def refuses_poison(store: Engine) -> None:
    """The real database refuses a status whose software version is 'poison' (a constraint the
    checks know nothing about: the kind of refusal nobody foresaw)."""
    with store.begin() as conn:
        if store.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE device_status ADD CONSTRAINT no_poison "
                              "CHECK (software_version <> 'poison')"))
        else:
            conn.execute(text("CREATE TRIGGER no_poison BEFORE INSERT ON device_status "
                              "WHEN NEW.software_version = 'poison' "
                              "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"))


def poisoned_status(kiosk: FakeKiosk) -> tuple[str, bytes]:
    fields = kiosk.header("status", state="online", graceful=False, software_version="poison")
    return status_topic(kiosk.device_id), seal(StatusMessage, fields, kiosk.key)[1]


def test_a_message_the_store_refuses_is_found_and_dead_lettered_with_the_stores_words(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, refuses_poison: None
) -> None:
    batch = [kiosk.certificate() for _ in range(6)]
    batch.insert(4, poisoned_status(kiosk))
    batch.append(kiosk.telemetry())
    got = outcomes(writer, *batch)
    assert got == [Outcome.RECORDED] * 4 + [Outcome.DEAD_LETTER] + [Outcome.RECORDED] * 2 + [
        Outcome.UPDATED]
    assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == 6
    [(code, reason)] = dead(store)
    assert code == "store_rejected"
    assert ("no_poison" in reason or "poison refused" in reason), reason


@pytest.fixture
def refuses_store_rejected_letters(store: Engine, refuses_poison: None) -> None:
    with store.begin() as conn:
        if store.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE dead_letters ADD CONSTRAINT no_store_rejected "
                              "CHECK (code <> 'store_rejected')"))
        else:
            conn.execute(text("CREATE TRIGGER no_store_rejected BEFORE INSERT ON dead_letters "
                              "WHEN NEW.code = 'store_rejected' "
                              "BEGIN SELECT RAISE(ABORT, 'letter refused'); END"))


def test_when_even_the_dead_letter_is_refused_a_minimal_one_is_kept_and_counted(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, refuses_store_rejected_letters: None
) -> None:
    poison = poisoned_status(kiosk)
    result = writer.write([inbound(m) for m in (kiosk.certificate(), poison,
                                                 kiosk.certificate())])
    assert [v.outcome for v in result.verdicts] == [Outcome.RECORDED, Outcome.DEAD_LETTER,
                                                    Outcome.RECORDED]
    assert result.unstorable == 1
    [(code, payload, size, sha)] = rows(
        store, "SELECT code, payload, payload_size, payload_sha256 FROM dead_letters")
    assert code == "unstorable" and bytes(payload) == b"" and size == len(poison[1])
    assert sha == inbound(poison).sha256


def test_a_store_that_refuses_even_a_minimal_dead_letter_is_an_outage(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, refuses_poison: None
) -> None:
    with store.begin() as conn:
        if store.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE dead_letters ADD CONSTRAINT none_at_all "
                              "CHECK (count < 0)"))
        else:
            conn.execute(text("CREATE TRIGGER none_at_all BEFORE INSERT ON dead_letters "
                              "BEGIN SELECT RAISE(ABORT, 'nothing'); END"))
    with pytest.raises(StoreUnwritable) as raised:
        writer.write([inbound(poisoned_status(kiosk))])
    assert is_outage(raised.value)
    assert scalar(store, "SELECT count(*) FROM dead_letters") == 0


@pytest.mark.postgres
def test_outages_and_refusals_are_told_apart_by_what_the_database_says(
    postgres_url: str
) -> None:
    """psycopg raises "index row size exceeds the maximum" as an OperationalError, like a lost
    connection: only the SQLSTATE tells one message's fault from an outage."""
    from cloud_bridge.store import make_engine

    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x text)"))
            conn.execute(text("CREATE INDEX ON t (x)"))
        with pytest.raises(OperationalError) as too_big, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": noise(9000)})
        assert not is_outage(too_big.value)
    finally:
        engine.dispose()
    nowhere = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                          connect_args={"connect_timeout": 2})
    try:
        with pytest.raises(OperationalError) as refused, nowhere.connect():
            pass
        assert is_outage(refused.value)
    finally:
        nowhere.dispose()
