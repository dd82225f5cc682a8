"""Power lost in the middle of a session (a child process killed with ``os._exit`` at a
chosen point): after restart the session is gone, the lot is reported honestly, and a
certificate is either fully issued and queued or does not exist at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.session import Step
from protocol import decode
from tests.gateway.station_helpers import simulated_gateway

ROOT = Path(__file__).resolve().parents[2]


def crash_at(data_dir: Path, point: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tests.gateway.power_loss_child",
                           str(data_dir), point], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 137, done.stderr[-2000:]


def ledger(gw):
    return [decode(r.topic, r.payload).message for r in gw.books.outbox.next_batch(500)]


def restart(data_dir):
    gw = simulated_gateway(data_dir)
    assert gw.session.step is Step.IDLE and gw.session.view.producer is None
    return gw


@pytest.mark.parametrize("point", ["incubating", "in_certificate_transaction"])
def test_power_lost_before_the_certificate_commits_leaves_no_certificate(tmp_path, point):
    crash_at(tmp_path / "kiosk", point)
    gw = restart(tmp_path / "kiosk")
    try:
        kinds = [m.kind for m in ledger(gw)]
        assert "certificate" not in kinds
        with gw.books.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM certificates").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM open_sessions").fetchone()[0] == 0
        [lot] = [m for m in ledger(gw) if m.kind == "lot"]
        assert lot.outcome == "abandoned"  # a strip was used: the supervisor hears of it
        assert "restarted" in lot.note
        # The ledger's numbering has no gap: the rolled-back records took no seq.
        seqs = sorted(m.seq for m in ledger(gw))
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        gw.close()
    again = restart(tmp_path / "kiosk")  # a second restart reports nothing more
    try:
        assert [m.kind for m in ledger(again)].count("lot") == 1
    finally:
        again.close()


def test_power_lost_after_the_commit_keeps_the_certificate_issued_and_queued(tmp_path):
    crash_at(tmp_path / "kiosk", "before_printing")
    gw = restart(tmp_path / "kiosk")
    try:
        messages = ledger(gw)
        [cert_event] = [m for m in messages if m.kind == "certificate"]
        token = cert_event.body.certificate.token
        assert gw.books.issuer.get(token)[1] == "issued"
        [lot] = [m for m in messages if m.kind == "lot"]
        assert lot.outcome == "certified" and lot.certificate_token == token
        with gw.books.db.read() as conn:
            assert conn.execute("SELECT count(*) FROM open_sessions").fetchone()[0] == 0
        assert gw.devices.printer.images == []  # never printed; reprint is a technician's job
    finally:
        gw.close()
