"""The cloud's store: tables, engines, migrations and device enrolment.

SQLite by default (one file, nothing to install), PostgreSQL by URL. ``migrate(url)`` creates or
upgrades the schema; ``make_engine(url)`` gives an engine set up for it.
"""

from .devices import (
    ConfirmationMismatch,
    DeviceInfo,
    DeviceNotFound,
    EnrolmentError,
    enroll_device,
    list_devices,
    reenable_device,
    retire_device,
)
from .engine import make_engine, normalise_url, session_factory
from .ingest_models import IngestWorkerRow, LedgerSkip, WorkerStateValue
from .migrate import SchemaError, current_revision, head_revision, migrate, require_current_schema
from .models import (
    AckWatermark,
    Base,
    CertificateRecord,
    CertificateStatus,
    CommandResultRecord,
    DeadLetter,
    DeadLetterState,
    Device,
    DeviceStateValue,
    DeviceStatus,
    LatestTelemetry,
    LedgerRecord,
    StripReadingRecord,
)
from .registry_models import (
    ApiKey,
    CertificateSource,
    CreditEvent,
    HistoryEntry,
    KioskAlarm,
    Lot,
    MarketCheck,
    Producer,
    Role,
    RosterState,
)

__all__ = [
    "AckWatermark",
    "ApiKey",
    "Base",
    "CertificateRecord",
    "CertificateSource",
    "CertificateStatus",
    "CommandResultRecord",
    "ConfirmationMismatch",
    "CreditEvent",
    "DeadLetter",
    "DeadLetterState",
    "Device",
    "DeviceInfo",
    "DeviceNotFound",
    "DeviceStateValue",
    "DeviceStatus",
    "EnrolmentError",
    "HistoryEntry",
    "IngestWorkerRow",
    "KioskAlarm",
    "LatestTelemetry",
    "LedgerRecord",
    "LedgerSkip",
    "Lot",
    "MarketCheck",
    "Producer",
    "Role",
    "RosterState",
    "SchemaError",
    "StripReadingRecord",
    "WorkerStateValue",
    "current_revision",
    "enroll_device",
    "head_revision",
    "list_devices",
    "make_engine",
    "migrate",
    "normalise_url",
    "reenable_device",
    "require_current_schema",
    "retire_device",
    "session_factory",
]
