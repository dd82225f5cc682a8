"""Named schema migrations of the kiosk database, applied once each in this order.

Append new scripts at the end; never edit one that has shipped. Statements are separated by
``;`` (no triggers or string literals containing ``;``).
"""

from __future__ import annotations

OUTBOX = """
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER UNIQUE,
    msg_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    priority INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'acked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_mono REAL,
    acked_at TEXT
);
CREATE INDEX outbox_unacked ON outbox (state, priority, id);
CREATE INDEX outbox_acked ON outbox (acked_at) WHERE state = 'acked'
"""

RECORDS = """
CREATE TABLE readings (
    reading_id TEXT PRIMARY KEY,
    session_id TEXT,
    product_code TEXT NOT NULL,
    analyte_code TEXT NOT NULL,
    call TEXT NOT NULL,
    t_c_ratio REAL,
    scored_at TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE certificates (
    token TEXT PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    producer_id TEXT NOT NULL,
    product_code TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'voided')),
    void_reason TEXT,
    msg_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE serial_counters (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
)
"""

KIT_STOCK = """
CREATE TABLE kit_boxes (
    box_code TEXT PRIMARY KEY,
    kit_id TEXT NOT NULL,
    lot TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    strips_total INTEGER NOT NULL CHECK (strips_total > 0),
    strips_left INTEGER NOT NULL CHECK (strips_left >= 0),
    registered_at TEXT NOT NULL,
    retired_at TEXT
);
CREATE INDEX kit_boxes_by_kit ON kit_boxes (kit_id, expires_on);
CREATE TABLE strip_uses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    box_code TEXT NOT NULL REFERENCES kit_boxes (box_code),
    used_at TEXT NOT NULL,
    session_id TEXT,
    purpose TEXT NOT NULL
)
"""

CALIBRATIONS = """
CREATE TABLE calibrations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reader_id TEXT NOT NULL,
    performed_at TEXT NOT NULL,
    passed INTEGER NOT NULL,
    flat_field_file TEXT,
    figures TEXT NOT NULL,
    problems TEXT NOT NULL
);
CREATE INDEX calibrations_by_reader ON calibrations (reader_id, performed_at)
"""

ALARMS = """
CREATE TABLE alarms_active (
    code TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    PRIMARY KEY (code, subject)
)
"""

PRODUCERS = """
CREATE TABLE producers (
    producer_id TEXT PRIMARY KEY,
    card_code TEXT,
    source TEXT NOT NULL CHECK (source IN ('local', 'roster')),
    active INTEGER NOT NULL DEFAULT 1,
    registered_at TEXT,
    event_seq INTEGER,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX producers_by_card ON producers (card_code) WHERE card_code IS NOT NULL;
CREATE TABLE producer_visits (
    producer_id TEXT PRIMARY KEY,
    last_seen_at TEXT NOT NULL
)
"""

OPEN_SESSIONS = """
CREATE TABLE open_sessions (
    session_id TEXT PRIMARY KEY,
    product_code TEXT NOT NULL,
    producer_id TEXT,
    quantity REAL,
    unit TEXT,
    reading_ids TEXT NOT NULL,
    opened_at TEXT NOT NULL
)
"""

PIN_ATTEMPTS = """
CREATE TABLE pin_attempts (
    producer_id TEXT PRIMARY KEY,
    failures INTEGER NOT NULL CHECK (failures > 0),
    locked_until TEXT,
    last_failure_at TEXT NOT NULL
)
"""

# Every step of every software and firmware update (gateway.update.journal). Written by the
# running kiosk and by the guard, which runs from the previous release: releases that follow
# must keep this table's columns (migrations stay additive, so a rollback keeps working).
UPDATE_JOURNAL = """
CREATE TABLE update_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    update_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('software', 'firmware')),
    version TEXT NOT NULL,
    from_version TEXT,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    reported_at TEXT
);
CREATE INDEX update_journal_by_update ON update_journal (update_id, id);
CREATE INDEX update_journal_unreported ON update_journal (id) WHERE reported_at IS NULL
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("0001_outbox", OUTBOX),
    ("0002_records", RECORDS),
    ("0003_kit_stock", KIT_STOCK),
    ("0004_calibrations", CALIBRATIONS),
    ("0005_alarms", ALARMS),
    ("0006_producers", PRODUCERS),
    ("0007_open_sessions", OPEN_SESSIONS),
    ("0008_pin_attempts", PIN_ATTEMPTS),
    ("0009_update_journal", UPDATE_JOURNAL),
]
