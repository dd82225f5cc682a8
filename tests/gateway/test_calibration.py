from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gateway.calibration import CalibrationBook

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def book(gateway, tmp_path):
    return CalibrationBook(gateway.books.db, tmp_path / "cal", interval=timedelta(days=30))


def test_states_follow_the_latest_attempt_and_its_age(book):
    assert book.current("r1", NOW).state == "none"
    flat = np.full((4, 4, 3), 0.9, dtype=np.float32)
    book.record("r1", passed=True, figures={"focus": 1.0}, problems=[], flat_field=flat,
                performed_at=NOW - timedelta(days=1))
    state = book.current("r1", NOW)
    assert state.state == "ok" and state.usable
    assert np.allclose(state.flat_field, flat)
    assert book.current("r1", NOW + timedelta(days=25)).state == "due_soon"
    assert book.current("r1", NOW + timedelta(days=31)).state == "overdue"
    assert not book.current("r1", NOW + timedelta(days=31)).usable
    book.record("r1", passed=False, figures={}, problems=["LED 3 is dim"], flat_field=None,
                performed_at=NOW)
    failed = book.current("r1", NOW)
    assert failed.state == "failed" and failed.problems == ["LED 3 is dim"]
    assert book.current("r2", NOW).state == "none"  # per reader


def test_a_lost_flat_field_file_is_a_failed_calibration(book, tmp_path):
    book.record("r1", passed=True, figures={}, problems=[], flat_field=np.ones((2, 2)),
                performed_at=NOW)
    for path in (tmp_path / "cal").iterdir():
        path.unlink()
    state = book.current("r1", NOW)
    assert state.state == "failed" and "missing" in state.problems[0]


def test_the_state_alone_skips_loading_the_flat_field(book, tmp_path, monkeypatch):
    flat = np.full((4, 4, 3), 0.9, dtype=np.float32)
    book.record("r1", passed=True, figures={}, problems=[], flat_field=flat,
                performed_at=NOW - timedelta(days=1))
    loaded = []
    real_load = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: loaded.append(a) or real_load(*a, **k))
    cheap = book.current("r1", NOW, load_flat_field=False)
    assert cheap.state == "ok" and cheap.calibrated_at == NOW - timedelta(days=1)
    assert cheap.flat_field is None and loaded == []
    assert np.allclose(book.current("r1", NOW).flat_field, flat) and len(loaded) == 1
    for path in (tmp_path / "cal").iterdir():
        path.unlink()
    missing = book.current("r1", NOW, load_flat_field=False)
    assert missing.state == "failed" and "missing" in missing.problems[0]
