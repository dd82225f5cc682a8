"""Dead letters a person can resolve (issue 11): ``nongan bridge dead-letters list / show /
replay / discard`` on both databases, each action in the history, and the kiosk's watermark
passing the gap once it is resolved.

A dead-lettered record of an enrolled kiosk holds its watermark below it: every later record is
stored but never acknowledged, so the kiosk keeps (and keeps re-sending) all of them. Replaying
it after the cause is fixed stores it; discarding it (a record that will never be stored)
skips its seq. Either way the watermark moves past the gap.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import count as counter

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import BatchWriter, Inbound, Outcome
from nongan.cli import main
from tests.support.cloud import enroll, rows, scalar
from tests.support.kiosk_messages import FakeKiosk

_mids = counter(1)


@pytest.fixture
def writer(store: Engine) -> BatchWriter:
    """Payloads kept whole (the default cap), so dead letters can be replayed."""
    return BatchWriter(store)


def write(writer: BatchWriter, *messages: tuple[str, bytes]):
    return writer.write([Inbound(t, p, next(_mids), 1, datetime.now(UTC)) for t, p in messages])


def cli(capsys: pytest.CaptureFixture[str], database_url: str, *argv: str
        ) -> tuple[int, str, str]:
    status = main(["bridge", "dead-letters", *argv, "--database-url", database_url])
    out, err = capsys.readouterr()
    return status, out, err


def letter_ids(store: Engine, state: str = "open") -> list[int]:
    return [i for (i,) in rows(store, "SELECT id FROM dead_letters WHERE state = :s "
                                      "ORDER BY seq", s=state)]


def watermark(store: Engine, device_id: str) -> int:
    return scalar(store, "SELECT acked_seq FROM ack_watermarks WHERE device_id = :d",
                  d=device_id) or 0


def test_a_replay_after_the_kiosk_is_enrolled_late_stores_the_records(
    store: Engine, writer: BatchWriter, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    late = FakeKiosk()  # its records arrive before anyone enrolled it
    records = [late.certificate(), late.reading(), late.certificate()]
    assert [v.outcome for v in write(writer, *records).verdicts] == [Outcome.DEAD_LETTER] * 3
    status, out, _ = cli(capsys, database_url, "list")
    assert status == 0 and out.count("unknown_device") == 3
    first, second, third = letter_ids(store)

    # Replaying before the cause is fixed changes nothing and says why.
    status, _, err = cli(capsys, database_url, "replay", str(first), "--reason", "try")
    assert status == 1 and "still refused" in err and "not enrolled" in err
    assert letter_ids(store) == [first, second, third]

    enroll(store, late)
    for letter in (first, second, third):
        status, out, _ = cli(capsys, database_url, "replay", str(letter), "--reason",
                             "kiosk enrolled on 2026-11-02, ticket 4411")
        assert status == 0 and "recorded" in out, out
    assert watermark(store, late.device_id) == 3
    assert letter_ids(store) == []
    assert rows(store, "SELECT DISTINCT state, resolved_by FROM dead_letters") == [
        ("replayed", rows(store, "SELECT actor FROM history WHERE action = 'replayed' "
                                 "LIMIT 1")[0][0])]
    history = rows(store, "SELECT entity_id, action, actor, reason FROM history "
                          "WHERE entity = 'dead_letter' ORDER BY id")
    assert [(e, a) for e, a, _, _ in history] == [
        (str(first), "replay_refused"), (str(first), "replayed"), (str(second), "replayed"),
        (str(third), "replayed")]
    assert all(actor.startswith("cli") for _, _, actor, _ in history)
    assert history[1][3] == "kiosk enrolled on 2026-11-02, ticket 4411"
    # The certificate keeps the time the cloud first received it, not the replay's.
    first_seen = rows(store, "SELECT first_seen FROM dead_letters WHERE id = :i", i=first)[0][0]
    recorded_at = rows(store, "SELECT received_at FROM ledger WHERE seq = 1")[0][0]
    assert recorded_at == first_seen or str(recorded_at)[:19] == str(first_seen)[:19]

    # A dead letter is resolved once.
    status, _, err = cli(capsys, database_url, "replay", str(first), "--reason", "again")
    assert status == 1 and "already replayed" in err
    status, _, err = cli(capsys, database_url, "discard", str(first), "--reason", "x", "--yes")
    assert status == 1 and "already replayed" in err


def test_a_discard_lets_the_watermark_pass_the_gap_and_the_kiosk_hears_it(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, database_url: str,
    capsys: pytest.CaptureFixture[str]
) -> None:
    forged = FakeKiosk(device_id=kiosk.device_id, next_seq=2)  # seq 2, signed with a wrong key
    kiosk.next_seq = 3
    records = [kiosk.certificate(seq=1), forged.certificate(), kiosk.certificate(),
               kiosk.certificate()]
    got = write(writer, *records)
    assert [v.outcome for v in got.verdicts] == [Outcome.RECORDED, Outcome.DEAD_LETTER,
                                                 Outcome.RECORDED, Outcome.RECORDED]
    assert got.watermarks == {kiosk.device_id: 1}  # 3 and 4 are stored, not acknowledged
    [letter] = letter_ids(store)

    status, out, _ = cli(capsys, database_url, "show", str(letter))
    assert status == 0
    assert "bad_signature" in out and "holds its kiosk's watermark back" in out
    assert "seq 2" in out and '"kind":"certificate"' in out.replace(" ", "")

    status, _, err = cli(capsys, database_url, "discard", str(letter), "--reason", "  ",
                         "--yes")
    assert status == 1 and "say why" in err
    status, _, err = cli(capsys, database_url, "discard", str(letter), "--reason", "forged")
    assert status == 2 and "--yes" in err  # no terminal to confirm on: nothing changed
    assert letter_ids(store) == [letter] and watermark(store, kiosk.device_id) == 1

    status, out, _ = cli(capsys, database_url, "discard", str(letter), "--reason",
                         "signed with a key this kiosk never had: not its record", "--yes")
    assert status == 0 and "seq 2 skipped, watermark now 4" in out
    assert watermark(store, kiosk.device_id) == 4
    assert rows(store, "SELECT seq, skipped_by, reason FROM ledger_skips") == [
        (2, rows(store, "SELECT actor FROM history WHERE action = 'discarded'")[0][0],
         "signed with a key this kiosk never had: not its record")]
    # The refused bytes come again (a re-send): still refused, but now its kiosk is told the
    # watermark passed, so it can stop waiting.
    again = write(writer, records[1])
    assert again.verdicts[0].outcome is Outcome.DEAD_LETTER
    assert again.watermarks == {kiosk.device_id: 4}
    assert rows(store, "SELECT state, count FROM dead_letters") == [("discarded", 2)]
    # And the kiosk's next record moves it on as usual.
    write(writer, kiosk.certificate())
    assert watermark(store, kiosk.device_id) == 5


def test_a_skip_ahead_of_a_missing_record_is_passed_once_that_record_arrives(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, database_url: str,
    capsys: pytest.CaptureFixture[str]
) -> None:
    one, two, three = (kiosk.certificate() for _ in range(3))
    bad_four = (kiosk.certificate()[0], b'{"v": 1, "kind": "certificate", "seq": 4}')
    kiosk.next_seq = 5
    five = kiosk.certificate()
    write(writer, one, three, bad_four, five)
    assert watermark(store, kiosk.device_id) == 1  # 2 has not arrived; 4 is refused
    [letter] = letter_ids(store)
    status, out, _ = cli(capsys, database_url, "discard", str(letter), "--reason",
                         "truncated by a broken modem firmware", "--yes")
    assert status == 0 and "seq 4 skipped" in out
    assert watermark(store, kiosk.device_id) == 1  # seq 2 is still missing
    write(writer, two)
    assert watermark(store, kiosk.device_id) == 5  # 2, 3, (4 skipped), 5


def test_a_resend_recorded_after_the_fix_settles_its_dead_letter_by_itself(
    store: Engine, writer: BatchWriter, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    late = FakeKiosk()
    record = late.certificate()
    write(writer, record)
    enroll(store, late)
    assert write(writer, record).verdicts[0].outcome is Outcome.RECORDED  # the kiosk re-sends
    assert rows(store, "SELECT state, resolved_by FROM dead_letters") == [("recorded", "ingest")]
    status, out, err = cli(capsys, database_url, "list")
    assert status == 0 and out == "" and "no open dead letters" in err
    status, out, _ = cli(capsys, database_url, "list", "--state", "all", "--json")
    assert json.loads(out)["state"] == "recorded"


def test_a_payload_not_kept_whole_cannot_be_replayed(
    store: Engine, kiosk: FakeKiosk, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = FakeKiosk()
    write(BatchWriter(store, payload_cap=100), stranger.certificate())
    [letter] = letter_ids(store)
    status, _, err = cli(capsys, database_url, "replay", str(letter), "--reason", "x")
    assert status == 1 and "were kept" in err
    status, _, err = cli(capsys, database_url, "show", "999999")
    assert status == 1 and "no dead letter #999999" in err


def test_a_genuine_record_for_a_skipped_seq_is_still_stored_not_dropped(
    store: Engine, kiosk: FakeKiosk, writer: BatchWriter, database_url: str,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """A careless discard must lose nothing: a forgery for seq 2 arrives before the kiosk's own
    seq 2 and is discarded (seq 2 skipped). When the genuine record comes, it is stored, not
    mistaken for a pruned duplicate below the watermark."""
    forged = FakeKiosk(device_id=kiosk.device_id, next_seq=2)
    one, two, three = (kiosk.certificate() for _ in range(3))
    write(writer, one, forged.certificate(), three)
    [letter] = letter_ids(store)
    status, _, _ = cli(capsys, database_url, "discard", str(letter), "--reason", "forged",
                       "--yes")
    assert status == 0 and watermark(store, kiosk.device_id) == 3
    assert write(writer, two).verdicts[0].outcome is Outcome.RECORDED
    assert rows(store, "SELECT msg_id FROM ledger WHERE seq = 2") == [
        (json.loads(two[1])["msg_id"],)]
    # A stored record below the watermark is a duplicate as ever.
    assert write(writer, two).verdicts[0].outcome is Outcome.DUPLICATE
