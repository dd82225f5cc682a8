"""The update journal: the state machine is enforced, history and outcomes are read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.storage import KioskDatabase
from gateway.update.errors import JournalError
from gateway.update.journal import Kind, State, UpdateJournal


@pytest.fixture
def journal(tmp_path: Path) -> UpdateJournal:
    db = KioskDatabase(tmp_path / "kiosk.db")
    yield UpdateJournal(db)
    db.close()


def test_steps_out_of_order_are_refused(journal: UpdateJournal) -> None:
    with pytest.raises(JournalError, match="None -> switched is not allowed"):
        journal.record("sw-1", Kind.SOFTWARE, State.SWITCHED, version="0.2.0")
    journal.record("sw-1", Kind.SOFTWARE, State.DOWNLOADING, version="?")
    with pytest.raises(JournalError, match="downloading -> healthy"):
        journal.record("sw-1", Kind.SOFTWARE, State.HEALTHY, version="0.2.0")
    journal.record("sw-1", Kind.SOFTWARE, State.REFUSED, version="?", reason="bad signature")
    with pytest.raises(JournalError, match="refused -> downloaded"):
        journal.record("sw-1", Kind.SOFTWARE, State.DOWNLOADED, version="0.2.0")
    with pytest.raises(JournalError):
        journal.record("fw-1", Kind.FIRMWARE, State.FLASHED, version="1.1.0")


def test_history_outcomes_and_open_updates(journal: UpdateJournal) -> None:
    for state in (State.DOWNLOADING, State.DOWNLOADED, State.STAGED, State.SWITCHED,
                  State.HEALTHY):
        journal.record("sw-1", Kind.SOFTWARE, state, version="0.2.0", from_version="0.1.0")
    journal.record("sw-2", Kind.SOFTWARE, State.DOWNLOADING, version="?",
                   detail={"url": "https://example/b.tar"})
    journal.record("fw-1", Kind.FIRMWARE, State.VERIFIED, version="1.1.0")
    journal.record("fw-1", Kind.FIRMWARE, State.RESTORED, version="1.1.0", reason="no hello")
    assert journal.history("sw-1")[0].state is State.HEALTHY
    last = journal.last_outcome(Kind.SOFTWARE)
    assert last is not None and (last.update_id, last.state) == ("sw-1", State.HEALTHY)
    assert [e.update_id for e in journal.open_updates()] == ["sw-2"]
    assert journal.open_updates()[0].detail == {"url": "https://example/b.tar"}
    fw = journal.last_outcome(Kind.FIRMWARE)
    assert fw is not None and fw.state is State.RESTORED and fw.reason == "no hello"
    assert journal.latest(Kind.SOFTWARE).update_id == "sw-2"  # type: ignore[union-attr]
