"""The cloud's store: tables, engines, migrations and device enrolment.

SQLite by default (one file, nothing to install), PostgreSQL by URL. ``migrate(url)`` creates or
upgrades the schema; ``make_engine(url)`` gives an engine set up for it.
"""

from .devices import DeviceInfo, EnrolmentError, enroll_device, list_devices, retire_device
from .engine import make_engine, normalise_url, session_factory
from .migrate import SchemaError, current_revision, head_revision, migrate, require_current_schema
from .models import (
    AckWatermark,
    Base,
    CertificateRecord,
    CertificateStatus,
    CommandResultRecord,
    DeadLetter,
    Device,
    DeviceStateValue,
    DeviceStatus,
    LatestTelemetry,
    LedgerRecord,
    StripReadingRecord,
)
from .notify_models import (
    Escalation,
    EscalationState,
    Notification,
    NotificationStatus,
    NotifyContact,
    NotifyRoute,
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
    "CreditEvent",
    "DeadLetter",
    "Device",
    "DeviceInfo",
    "DeviceStateValue",
    "DeviceStatus",
    "EnrolmentError",
    "Escalation",
    "EscalationState",
    "HistoryEntry",
    "KioskAlarm",
    "LatestTelemetry",
    "LedgerRecord",
    "Lot",
    "MarketCheck",
    "Notification",
    "NotificationStatus",
    "NotifyContact",
    "NotifyRoute",
    "Producer",
    "Role",
    "RosterState",
    "SchemaError",
    "StripReadingRecord",
    "current_revision",
    "enroll_device",
    "head_revision",
    "list_devices",
    "make_engine",
    "migrate",
    "normalise_url",
    "require_current_schema",
    "retire_device",
    "session_factory",
]
