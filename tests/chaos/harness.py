"""What every chaos test ends with: the cloud holds exactly the records the kiosks created.

``assert_ledgers_match`` reads the kiosk's own database (the outbox keeps every record until it
is acknowledged and then for the retention period, and the certificates table keeps every
certificate) and the cloud's, and fails on a record lost, a record twice, a certificate
whose kiosk row and outbox row disagree, or an issued certificate the cloud cannot show.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text

FULL = os.environ.get("NONGAN_CHAOS_FULL", "") == "1"


def scale(short: int, full: int) -> int:
    """A size for the short CI run or the full chaos run (NONGAN_CHAOS_FULL=1)."""
    return full if FULL else short


@dataclass(frozen=True)
class LedgerComparison:
    created: int
    recorded: int
    lost: list[int]
    duplicated: int
    foreign: list[int]
    certificates: int
    certificates_recorded: int


def kiosk_ledger(kiosk_db: Path) -> dict[int, str]:
    """seq -> msg_id of every ledger record the kiosk created (read-only)."""
    conn = sqlite3.connect(f"file:{kiosk_db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT seq, msg_id FROM outbox WHERE seq IS NOT NULL"))
    finally:
        conn.close()


def kiosk_certificates(kiosk_db: Path) -> dict[str, str]:
    """token -> status of every certificate the kiosk issued, each checked against its
    outbox row (issuance commits both or neither)."""
    conn = sqlite3.connect(f"file:{kiosk_db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT token, status, msg_id FROM certificates").fetchall()
        outbox_ids = {r[0] for r in conn.execute("SELECT msg_id FROM outbox")}
    finally:
        conn.close()
    orphans = [token for token, _, msg_id in rows if msg_id not in outbox_ids]
    assert not orphans, f"certificates without their ledger record: {orphans}"
    return {token: status for token, status, _ in rows}


def compare(kiosk_db: Path, engine: Engine, device_id: str) -> LedgerComparison:
    created = kiosk_ledger(kiosk_db)
    certificates = kiosk_certificates(kiosk_db)
    with engine.connect() as conn:
        cloud = conn.execute(text("SELECT seq, msg_id FROM ledger WHERE device_id = :d"),
                             {"d": device_id}).all()
        cloud_certs = dict(conn.execute(
            text("SELECT token, status FROM certificates WHERE device_id = :d"),
            {"d": device_id}).all())
    cloud_map: dict[int, str] = {}
    duplicated = 0
    for seq, msg_id in cloud:
        if seq in cloud_map:
            duplicated += 1
        cloud_map[seq] = msg_id
    lost = sorted(seq for seq, msg_id in created.items() if cloud_map.get(seq) != msg_id)
    foreign = sorted(seq for seq in cloud_map if seq not in created)
    matching = sum(1 for token, status in certificates.items()
                   if cloud_certs.get(token) == status)
    return LedgerComparison(len(created), len(cloud), lost, duplicated, foreign,
                            len(certificates), matching)


def assert_ledgers_match(kiosk_db: Path, engine: Engine, device_id: str) -> LedgerComparison:
    result = compare(kiosk_db, engine, device_id)
    assert result.created > 0, "the scenario created nothing: it tested nothing"
    assert result.lost == [], f"{len(result.lost)} records lost: seqs {result.lost[:20]}"
    assert result.duplicated == 0, f"{result.duplicated} records recorded twice"
    assert result.foreign == [], f"the cloud has records the kiosk never made: {result.foreign}"
    assert result.recorded == result.created
    assert result.certificates_recorded == result.certificates, (
        f"only {result.certificates_recorded} of {result.certificates} certificates are "
        "in the cloud with the kiosk's status")
    # The figures for docs/reliability.md: `scripts/chaos` shows each passing test's output.
    print(f"ledger {device_id}: created {result.created}, recorded {result.recorded}, "
          f"lost {len(result.lost)}, duplicated {result.duplicated}; certificates "
          f"{result.certificates}, in the cloud with the kiosk's status "
          f"{result.certificates_recorded}")
    return result
