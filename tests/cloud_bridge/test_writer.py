"""The batch writer on both databases: idempotence, dead letters, voids, watermarks, races."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import count as counter

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from cloud_bridge.ingest import ledger as ledger_module
from cloud_bridge.store import (
    CertificateRecord,
    DeadLetter,
    LedgerRecord,
    retire_device,
    session_factory,
)
from protocol import StatusMessage, seal, status_topic
from tests.support.cloud import count, enroll, rows, scalar
from tests.support.kiosk_messages import FakeKiosk

_mids = counter(1)


def inbound(message: tuple[str, bytes]) -> Inbound:
    topic, payload = message
    return Inbound(topic, payload, next(_mids), 1, datetime.now(UTC))


def write(writer: BatchWriter, *messages: tuple[str, bytes]) -> list[Outcome]:
    return [v.outcome for v in writer.write([inbound(m) for m in messages]).verdicts]


def token_of(message: tuple[str, bytes]) -> str:
    return json.loads(message[1])["body"]["certificate"]["token"]


def test_every_bad_input_becomes_a_dead_letter_with_its_reason_and_good_ones_still_pass(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    retired, stranger = FakeKiosk(), FakeKiosk()
    enroll(store, retired)
    with session_factory(store).begin() as session:
        retire_device(session, retired.device_id, confirm=retired.device_id,
                      reason="test: retired")
    topic, first = kiosk.certificate()  # seq 1
    write(writer, (topic, first))
    good = json.loads(first)
    unsigned = {k: v for k, v in good.items() if k != "sig"}
    nul = kiosk.telemetry()
    cases = {
        "malformed": (topic, b'{"v": 1,'),
        "not utf-8": (topic, b'{"v": "\xff"}'),
        "array": (topic, b"[1, 2]"),
        "nan": (topic, b'{"v": NaN}'),
        "bad_version": (topic, json.dumps({**good, "v": 2}).encode()),
        "schema": (topic, json.dumps({**good, "seq": "one"}).encode()),
        "unsigned": (topic, json.dumps(unsigned).encode()),
        "bad_signature": (topic, FakeKiosk(device_id=kiosk.device_id).certificate()[1]),
        "unknown_device": stranger.certificate(),
        "retired_device": retired.certificate(),
        "device_mismatch": (f"nongan/v1/{stranger.device_id}/event/certificate",
                            kiosk.certificate()[1]),  # seq 2, never recorded
        "too_large": (topic, b"{" + b" " * (256 * 1024) + b"}"),
        "seq_conflict": (topic, kiosk.certificate(seq=1)[1]),
        "msg_id_reused": (topic, json.dumps({**good, "seq": 99}).encode()),
        "unstorable": (nul[0], nul[1].replace(b'"0.1.0"', b'"0.1\\u0000"')),
        "cloud topic": (f"nongan/v1/{kiosk.device_id}/ack", first),
        "foreign topic": ("other/v1/x/status", first),
        "unknown event": (f"nongan/v1/{kiosk.device_id}/event/weather", first),
    }
    after = kiosk.certificate()  # seq 3
    result = writer.write([inbound(m) for m in cases.values()] + [inbound(after)])
    verdicts = dict(zip([*cases, "after"], result.verdicts, strict=True))
    assert verdicts.pop("after").outcome is Outcome.RECORDED
    codes = {name: (v.outcome, v.rejection.code if v.rejection else None)
             for name, v in verdicts.items()}
    # msg_id_reused re-signs nothing, so its signature fails first: that is the right answer.
    assert codes == {
        "malformed": (Outcome.DEAD_LETTER, "malformed"),
        "not utf-8": (Outcome.DEAD_LETTER, "malformed"),
        "array": (Outcome.DEAD_LETTER, "malformed"),
        "nan": (Outcome.DEAD_LETTER, "malformed"),
        "bad_version": (Outcome.DEAD_LETTER, "bad_version"),
        "schema": (Outcome.DEAD_LETTER, "schema"),
        "unsigned": (Outcome.DEAD_LETTER, "schema"),
        "bad_signature": (Outcome.DEAD_LETTER, "bad_signature"),
        "unknown_device": (Outcome.DEAD_LETTER, "unknown_device"),
        "retired_device": (Outcome.DEAD_LETTER, "retired_device"),
        "device_mismatch": (Outcome.DEAD_LETTER, "device_mismatch"),
        "too_large": (Outcome.DEAD_LETTER, "too_large"),
        "seq_conflict": (Outcome.DEAD_LETTER, "seq_conflict"),
        "msg_id_reused": (Outcome.DEAD_LETTER, "bad_signature"),
        "unstorable": (Outcome.DEAD_LETTER, "unstorable"),
        "cloud topic": (Outcome.DEAD_LETTER, "bad_topic"),
        "foreign topic": (Outcome.DEAD_LETTER, "bad_topic"),
        "unknown event": (Outcome.DEAD_LETTER, "bad_topic"),
    }
    assert count(store, DeadLetter) == len(cases)
    assert count(store, LedgerRecord) == 2
    # Seq 2 was dead-lettered: the kiosk's watermark stops below it.
    assert result.watermarks == {kiosk.device_id: 1}
    big = rows(store, "SELECT payload_size, payload_truncated, length(payload) FROM dead_letters"
                      " WHERE code = 'too_large'")[0]
    assert tuple(big) == (256 * 1024 + 2, True, 1024)


def test_a_signed_message_reusing_a_msg_id_under_another_seq_is_a_dead_letter(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    first = kiosk.certificate()
    msg_id = json.loads(first[1])["msg_id"]
    original_header = kiosk.header
    kiosk.header = lambda kind, **extra: {**original_header(kind, **extra),  # type: ignore
                                          "msg_id": msg_id}
    again = kiosk.certificate()
    verdicts = writer.write([inbound(first), inbound(again)]).verdicts
    assert [v.outcome for v in verdicts] == [Outcome.RECORDED, Outcome.DEAD_LETTER]
    assert verdicts[1].rejection is not None and verdicts[1].rejection.code == "msg_id_reused"


def test_the_same_bad_payload_counts_up_one_row(store: Engine, kiosk: FakeKiosk,
                                                writer: BatchWriter) -> None:
    bad = (f"nongan/v1/{kiosk.device_id}/telemetry", b"not json")
    write(writer, bad, bad)
    write(writer, bad)
    assert count(store, DeadLetter) == 1
    assert scalar(store, "SELECT count FROM dead_letters") == 3
    first_seen, last_seen = rows(store, "SELECT first_seen, last_seen FROM dead_letters")[0]
    assert last_seen >= first_seen


def test_duplicates_change_nothing_and_still_get_an_ack(store: Engine, kiosk: FakeKiosk,
                                                       writer: BatchWriter) -> None:
    cert = kiosk.certificate()
    assert write(writer, cert, cert) == [Outcome.RECORDED, Outcome.DUPLICATE]
    result = writer.write([inbound(cert)])
    assert [v.outcome for v in result.verdicts] == [Outcome.DUPLICATE]
    assert result.watermarks == {kiosk.device_id: 1}
    assert count(store, LedgerRecord) == 1 and count(store, CertificateRecord) == 1


def test_watermark_follows_the_contiguous_run_whatever_the_order(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    msgs = [kiosk.reading() for _ in range(6)]
    # No seq 1 yet: the kiosk still hears an ack, saying 0.
    assert writer.write([inbound(msgs[i]) for i in (5, 2, 1)]).watermarks == {kiosk.device_id: 0}
    assert writer.write([inbound(msgs[0])]).watermarks == {kiosk.device_id: 3}
    assert writer.write([inbound(msgs[4])]).watermarks == {kiosk.device_id: 3}
    assert writer.write([inbound(msgs[3])]).watermarks == {kiosk.device_id: 6}
    assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == 6


def test_a_void_applies_whether_it_arrives_before_or_after_its_certificate(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    early, late = kiosk.certificate(), kiosk.certificate()
    void_early = kiosk.void(token_of(early), reason="重量有误")
    void_late = kiosk.void(token_of(late), reason="重复开具")
    write(writer, early, void_early)  # same batch
    write(writer, void_late)  # before its certificate
    write(writer, late)
    status = dict(rows(store, "SELECT token, void_reason FROM certificates WHERE "
                              "status = 'voided'"))
    assert status == {token_of(early): "重量有误", token_of(late): "重复开具"}


def test_a_kiosk_cannot_void_another_kiosks_certificate(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    other = FakeKiosk()
    enroll(store, other)
    cert = kiosk.certificate()
    write(writer, cert)
    verdict = writer.write([inbound(other.void(token_of(cert)))]).verdicts[0]
    assert verdict.rejection is not None and verdict.rejection.code == "foreign_certificate"
    assert scalar(store, "SELECT status FROM certificates") == "issued"


def test_a_race_on_the_same_record_falls_back_to_savepoints(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    raced, fresh = kiosk.certificate(), kiosk.certificate()
    write(writer, raced)
    # Pretend another worker stored `raced` between our duplicate check and our insert.
    real_existing = ledger_module._existing
    calls = []

    def blind_once(session, items):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        return ({}, {}) if len(calls) == 1 else real_existing(session, items)

    monkeypatch.setattr(ledger_module, "_existing", blind_once)
    assert write(writer, raced, fresh) == [Outcome.DUPLICATE, Outcome.RECORDED]
    assert count(store, LedgerRecord) == 2


def test_a_token_already_used_by_another_kiosk_is_refused(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    other = FakeKiosk()
    enroll(store, other)
    mine = kiosk.certificate()
    write(writer, mine)
    theirs = other.certificate(token=token_of(mine))
    after = other.certificate()
    result = writer.write([inbound(theirs), inbound(after)])
    first = result.verdicts[0]
    # Refused before the store sees it: the token is bound to the kiosk that made it
    # (was "store_rejected", which also refused the genuine one when the squatter came first:
    # see test_kiosk_claims.py).
    assert first.rejection is not None and first.rejection.code == "foreign_certificate"
    assert result.verdicts[1].outcome is Outcome.RECORDED
    assert scalar(store, "SELECT device_id FROM certificates WHERE token = :t",
                  t=token_of(mine)) == kiosk.device_id


def test_status_replays_keep_the_time_the_change_was_heard(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    online = kiosk.status("online")
    write(writer, online)
    heard = scalar(store, "SELECT received_at FROM device_status")
    write(writer, online)  # the retained message again, e.g. after a resubscribe
    assert scalar(store, "SELECT received_at FROM device_status") == heard
    write(writer, kiosk.status("offline"))
    assert scalar(store, "SELECT state FROM device_status") == "offline"
    write(writer, kiosk.telemetry(outbox_pending=3), kiosk.telemetry(outbox_pending=7))
    assert scalar(store, "SELECT outbox_pending FROM latest_telemetry") == 7


def _status_at(kiosk: FakeKiosk, when: datetime) -> tuple[str, bytes]:
    fields = kiosk.header("status", time=when, state="online", graceful=False,
                          software_version="0.1.0")
    _, payload = seal(StatusMessage, fields, kiosk.key)
    return status_topic(kiosk.device_id), payload


def test_a_time_with_no_utc_equivalent_is_a_dead_letter_not_a_stuck_batch(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    # Valid ISO 8601 and AwareDatetime, but UTC would be year 0 (or 10000): not storable.
    too_early = datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    too_late = datetime(9999, 12, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
    bad_status = _status_at(kiosk, too_early)
    bad_certificate = kiosk.certificate(issued_at=too_late)  # seq 1
    good = kiosk.certificate(seq=1)
    result = writer.write([inbound(bad_status), inbound(bad_certificate), inbound(good),
                           inbound(kiosk.status())])
    assert [v.outcome for v in result.verdicts] == [
        Outcome.DEAD_LETTER, Outcome.DEAD_LETTER, Outcome.RECORDED, Outcome.UPDATED]
    rejections = [v.rejection for v in result.verdicts[:2]]
    assert [r.code for r in rejections if r] == ["unstorable", "unstorable"]
    reasons = [r.reason for r in rejections if r]
    assert "'time'" in reasons[0] and "UTC" in reasons[0]
    assert "'body.certificate.issued_at'" in reasons[1]
    assert count(store, DeadLetter) == 2
    assert count(store, LedgerRecord) == 1
    assert result.watermarks == {kiosk.device_id: 1}


def test_an_edge_year_written_with_a_json_escape_is_caught_too(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter
) -> None:
    # The cheap byte test before the walk must not be fooled by "\u0030001-…" (= "0001-…"):
    # the parsed object, and so the signature, is the same as the plain text's.
    topic, payload = _status_at(kiosk, datetime(1, 1, 1, 0, 30,
                                                tzinfo=timezone(timedelta(hours=1))))
    escaped = payload.replace(b'"0001-', b'"\\u0030001-')
    assert escaped != payload and json.loads(escaped) == json.loads(payload)
    result = writer.write([inbound((topic, escaped))])
    [verdict] = result.verdicts
    assert verdict.outcome is Outcome.DEAD_LETTER
    assert verdict.rejection is not None and verdict.rejection.code == "unstorable"
