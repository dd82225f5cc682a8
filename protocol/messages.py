"""Message models of wire contract version 1.

Every kiosk -> cloud message shares one header (``KioskHeader``): schema version, kind, device
id, a message id made at the kiosk, the kiosk's boot id and monotonic clock, its wall-clock
reading and whether that clock was synchronised, and an Ed25519 signature (``sig``) over the
canonical JSON of everything else (see ``protocol.signing``).

Ledger messages (events: test readings, certificates) also carry ``seq``: a per-kiosk number,
strictly increasing across reboots, with no gaps. The cloud acknowledges them with a retained
``CloudAck`` saying "every seq up to N is committed"; only then may the kiosk forget a record.
Status, telemetry and command results are not ledger records and carry no ``seq``.

The models forbid unknown members: a message that does not match is dead-lettered with the
reason rather than half-understood.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    model_validator,
)

from .topics import DEVICE_ID_PATTERN, MAX_ROSTER_PAGES

SCHEMA_VERSION = 1

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
MessageId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
"""A message id: 32 lower-case hex digits (a UUID without dashes), made at the kiosk."""
Signature = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]
"""Base64url (unpadded) of a 64-byte Ed25519 signature."""
KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16}$")]
"""A cloud key's id (``protocol.signing.key_id``): 16 base64url characters."""
PublicKeyText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
"""Base64url (unpadded) of a 32-byte Ed25519 public key."""
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{22,64}$")]
"""A certificate's public, unguessable token (at least 128 random bits, base64url). A kiosk's
tokens are bound to it (``protocol.bound_ids.make_token``); the cloud's re-issues are
random."""
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Text = Annotated[str, StringConstraints(max_length=500)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
PlaceCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}([0-9]{3}([0-9]{3})?)?$")]
"""GB/T 2260 administrative division code (6 digits), optionally extended to township (9) or
village (12) level as in the statistical division codes."""
Serial = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{3,64}$")]
"""A certificate's serial number, printed on it."""
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 -]{5,20}$")]
INT64_MAX = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A non-negative whole number a database's BIGINT holds (sequence numbers, byte counts)."""
SeqNumber = Annotated[int, Field(gt=0, le=INT64_MAX)]
Quantity = Annotated[float, Field(gt=0, le=1e9)]
Unit = Annotated[str, StringConstraints(min_length=1, max_length=16)]
CalibrationState = Literal["ok", "due_soon", "overdue", "failed", "none"]
ProducerKind = Literal["farmer", "cooperative", "enterprise"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Header shared by all kiosk messages


class ClockQuality(_Model):
    """When a kiosk stamped a message, by which clocks, and whether to trust the wall clock."""

    time: AwareDatetime = Field(
        description="The kiosk's wall clock (UTC) when the message was made."
    )
    time_synced: bool = Field(
        description="True when the wall clock had been synchronised (NTP or RTC) since boot."
    )
    boot_id: MessageId = Field(description="Random id made at each start of the gateway.")
    mono_ms: Count = Field(description="Monotonic milliseconds since that start.")


class KioskHeader(ClockQuality):
    v: Literal[1] = Field(description="Wire contract version.")
    device_id: DeviceId
    msg_id: MessageId
    sig: Signature


class LedgerHeader(KioskHeader):
    seq: SeqNumber = Field(
        description="Per-kiosk ledger sequence number: starts at 1, +1 per record, never reused."
    )


# --------------------------------------------------------------------------------------------
# status (birth / last will)


class DeviceState(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class StatusMessage(KioskHeader):
    """Retained on ``status``: the birth message on connect, the last will on a lost link.

    Both are made and signed at connect time, so an ``offline`` will carries the time of the
    connection it ends, not the time of the loss; the cloud uses its own receive time for that.
    """

    kind: Literal["status"]
    state: DeviceState
    graceful: bool = Field(
        default=False, description="True for a deliberate disconnect, False for the last will."
    )
    software_version: ShortText
    firmware_version: ShortText | None = None
    station_id: Code | None = None


# --------------------------------------------------------------------------------------------
# telemetry


class KitStock(_Model):
    kit_id: Code
    lot: Code
    expires_on: date
    strips_left: Count


class Telemetry(KioskHeader):
    """Periodic health, published on ``telemetry`` (QoS 0/1, not a ledger record)."""

    kind: Literal["telemetry"]
    software_version: ShortText
    firmware_version: ShortText | None = None
    uptime_s: NonNegativeFloat
    outbox_pending: Count = Field(description="Ledger records not yet acknowledged.")
    outbox_oldest_age_s: NonNegativeFloat | None = Field(
        default=None, description="Age of the oldest unacknowledged record, seconds."
    )
    last_acked_seq: Count = 0
    last_seq: Count = 0
    disk_free_bytes: Count
    disk_total_bytes: Count
    cpu_temp_c: float | None = None
    reader_temp_c: float | None = None
    calibration_state: CalibrationState = "none"
    calibrated_at: AwareDatetime | None = None
    devices: dict[Code, Literal["ok", "fault", "absent", "simulated"]] = Field(default_factory=dict)
    kits: list[KitStock] = Field(default_factory=list, max_length=200)
    cloud_keys: list[KeyId] = Field(
        default_factory=list, max_length=16,
        description="Ids of the cloud keys this kiosk trusts (key rotation: docs/protocol.md).")
    cloud_messages_refused: NonNegativeInt = Field(
        default=0, description="Cloud messages refused so far: unsigned, signed by a key this "
        "kiosk does not trust, not matching their signature, or addressed to another kiosk.")
    cloud_messages_stale: NonNegativeInt = Field(
        default=0, description="Genuine cloud messages ignored as older than what the kiosk "
        "holds (an ack below the last, a roster version already held, a replayed command).")


# --------------------------------------------------------------------------------------------
# event/test: one strip reading


class Call(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"
    SUSPECT = "suspect"
    INVALID = "invalid"


class LineFigures(_Model):
    """One line (C or T) as the scorer measured it, on the absorbance profile."""

    position_px: float | None = None
    height: float | None = Field(default=None, description="Peak height above the baseline.")
    area: float | None = Field(default=None, description="Peak area above the baseline.")


class Calibration(_Model):
    state: CalibrationState
    calibrated_at: AwareDatetime | None = None


class StripReading(_Model):
    """What was read from one strip window, with everything a reviewer needs to re-judge it."""

    reading_id: MessageId
    session_id: MessageId | None = None
    producer_id: Code | None = None
    product_code: Code
    analyte_code: Code
    kit_id: Code
    kit_lot: Code
    kit_expires_on: date
    window: NonNegativeInt = 0
    attempt: PositiveInt = 1
    call: Call
    rule: Code = Field(description="Decision mode of the kit, e.g. tc_ratio, t_disappearance.")
    cutoff_low: float | None = None
    cutoff_high: float | None = None
    t_c_ratio: float | None = None
    t_c_spread: float | None = Field(default=None, description="Spread of T/C over the burst.")
    c_line: LineFigures
    t_line: LineFigures
    reasons: list[Text] = Field(default_factory=list, max_length=20)
    frame_count: PositiveInt
    frames_sha256: list[Sha256Hex] = Field(min_length=1, max_length=32)
    processing_ms: NonNegativeFloat
    reader_id: Code
    calibration: Calibration
    temperature_c: float | None = None
    operator: ShortText = "self"
    scored_at: AwareDatetime


class TestReadingEvent(LedgerHeader):
    """Published on ``event/test``, once per strip reading (QoS 1, a ledger record)."""

    __test__ = False  # not a pytest test class, despite the name

    kind: Literal["test_reading"]
    reading: StripReading


# --------------------------------------------------------------------------------------------
# event/certificate: issued or voided


class CertificateStyle(StrEnum):
    PRODUCER = "style1"
    """样式一: a producer's own certificate."""
    PURCHASER = "style2"
    """样式二: a purchaser's re-issue after mixing or splitting lots."""


class Basis(StrEnum):
    QUALITY_CONTROL = "质量安全控制符合要求"
    SELF_TESTED = "自行检测合格"
    COMMISSIONED_TEST = "委托检测合格"


class TestSummary(_Model):
    __test__ = False

    reading_id: MessageId
    analyte_code: Code
    analyte_name: ShortText
    kit_id: Code
    kit_lot: Code
    call: Call
    t_c_ratio: float | None = None


class Certificate(_Model):
    """A commitment compliance certificate (承诺达标合格证), as issued at the kiosk."""

    token: Token = Field(
        description="Public token (the QR): made by the issuing kiosk as base64url(16 random "
        "bytes + the first 16 bytes of SHA-256('nongan/v1/certificate-token' NUL device_id NUL "
        "nonce)), so the cloud can check that it belongs to the kiosk that sends it.")
    serial: Serial
    style: CertificateStyle
    template_version: ShortText = Field(
        description="Certificate template, e.g. 'MARA-2025-4'; the cloud accepts only the "
        "versions it knows.")
    product_code: Code
    product_name: ShortText
    quantity: Quantity
    unit: Unit
    origin_code: PlaceCode
    origin_detail: Text = ""
    producer_id: Code
    promisor_name: ShortText
    promisor_phone: Phone
    promise: Text = Field(description="The fixed promise wording of the style, exactly.")
    basis: list[Basis] = Field(min_length=1, max_length=3)
    tests: list[TestSummary] = Field(default_factory=list, max_length=32)
    issued_at: AwareDatetime
    time_synced: bool
    station_id: Code
    place_code: PlaceCode | None = None
    verify_url: Annotated[str, StringConstraints(max_length=300)] = Field(
        description="The cloud's public page for this token: its public base URL + '/c/' + "
        "token; the cloud refuses any other.")
    sources: list[Token] = Field(default_factory=list, max_length=100)


class CertificateIssued(_Model):
    action: Literal["issued"]
    certificate: Certificate


class CertificateVoided(_Model):
    action: Literal["voided"]
    token: Token
    serial: Serial
    reason: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    voided_at: AwareDatetime


class CertificateEvent(LedgerHeader):
    """Published on ``event/certificate`` when a certificate is issued or voided."""

    kind: Literal["certificate"]
    body: Annotated[CertificateIssued | CertificateVoided, Field(discriminator="action")]


# --------------------------------------------------------------------------------------------
# event/producer: a producer registered or updated at a kiosk


PinHash = Annotated[
    str,
    StringConstraints(
        pattern=r"^scrypt\$[0-9]{1,10}\$[0-9]{1,10}\$[0-9]{1,10}"
        r"\$[A-Za-z0-9_-]{16,64}\$[A-Za-z0-9_-]{32,128}$"
    ),
]
"""``scrypt$N$r$p$salt$hash`` (base64url): a producer's PIN, never sent or stored in clear."""


class Producer(_Model):
    """A producer (farmer, cooperative, enterprise) as the kiosks and the cloud know them."""

    producer_id: Code = Field(
        description="Made where the producer first registered: P-{station}-{20 hex digits}, "
        "bound to the registering kiosk (protocol.bound_ids), so no other kiosk can claim it.")
    kind: ProducerKind = "farmer"
    name: ShortText
    phone: Phone
    origin_code: PlaceCode
    origin_detail: Text = ""
    card_code: Code | None = Field(
        default=None, description="What the producer's card QR says (scanned to identify)."
    )
    pin_hash: PinHash | None = None
    registered_at: AwareDatetime
    registered_by: DeviceId


class ProducerEvent(LedgerHeader):
    """Published on ``event/producer`` when a kiosk registers or updates a producer."""

    kind: Literal["producer"]
    action: Literal["registered", "updated"]
    producer: Producer


# --------------------------------------------------------------------------------------------
# event/lot: what became of a lot a producer brought to test


class LotOutcome(StrEnum):
    CERTIFIED = "certified"
    """Every reading negative; the certificate named here was issued."""
    BLOCKED_POSITIVE = "blocked_positive"
    """A reading was positive: no certificate, the lot must not be sold, the supervisor is told."""
    BLOCKED_UNRESOLVED = "blocked_unresolved"
    """Suspect or invalid after the allowed re-tests: treated as not negative, no certificate."""
    ABANDONED = "abandoned"
    """The session ended (timeout, power loss, the producer left) before a result."""


class LotEvent(LedgerHeader):
    """Published on ``event/lot`` when a kiosk session closes its tested lot with an outcome.

    Usually once per session. A certificate voided at the kiosk and issued again in the same
    session (a wrong quantity, a printer jam) closes the lot again: a second ``certified``
    event with the same ``session_id``, the new ``certificate_token`` and a ``note`` naming the
    voided certificate. The event with the highest ``seq`` of a session is its lot's outcome.
    ``blocked_positive`` is the supervisor's alarm: the readings are in ``event/test``.
    """

    kind: Literal["lot"]
    session_id: MessageId
    outcome: LotOutcome
    producer_id: Code | None = None
    product_code: Code
    quantity: Quantity | None = None
    unit: Unit | None = None
    reading_ids: list[MessageId] = Field(default_factory=list, max_length=64)
    certificate_token: Token | None = None
    note: Text = ""


# --------------------------------------------------------------------------------------------
# event/alarm: something a person must look at, raised and cleared by the kiosk


class AlarmSeverity(StrEnum):
    WARNING = "warning"
    FAULT = "fault"


class AlarmEvent(LedgerHeader):
    """Published on ``event/alarm`` when a condition starts (``raised``) and ends (``cleared``).

    Reported once going bad and once coming back, never on every poll. Codes are stable
    (``disk_low``, ``disk_full``, ``device_fault``, ``clock_unsynced``, ...); ``message`` says
    what happened and what to do, for the operator.
    """

    kind: Literal["alarm"]
    code: Code
    state: Literal["raised", "cleared"]
    severity: AlarmSeverity
    subject: Code | None = Field(default=None, description="Which device or resource.")
    message: Text


# --------------------------------------------------------------------------------------------
# event/batch: an envelope of several ledger records (protocol.batch)


MAX_BATCH_RECORDS = 100


class BatchEnvelope(_Model):
    """Several complete, signed ledger messages in one publish (slow links). Not a record and
    not signed itself; each record inside is checked as if it had come alone."""

    v: Literal[1]
    kind: Literal["batch"]
    device_id: DeviceId
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_RECORDS)


# --------------------------------------------------------------------------------------------
# cloud -> kiosk: every message signed by a cloud key the kiosk pinned (protocol.signing)


class CloudSigned(_Model):
    """What every cloud -> kiosk message ends with: the id of the cloud key that signed it and
    the signature over everything else (``kid`` included). A kiosk acts on none of them until
    the signature checks against a key it pinned."""

    kid: KeyId = Field(description="Id of the cloud key that signed this message.")
    sig: Signature = Field(description="Ed25519 signature of the cloud key over the canonical "
                           "JSON of the message without 'sig'.")


class CloudAck(CloudSigned):
    """Retained on ``ack``: every ledger record of this kiosk with ``seq <= acked_seq`` is in
    the cloud's database. Published only after the database commit.
    """

    v: Literal[1]
    kind: Literal["ack"]
    device_id: DeviceId
    acked_seq: NonNegativeInt
    time: AwareDatetime


class RosterEntry(_Model):
    producer_id: Code
    kind: ProducerKind = "farmer"
    name: ShortText
    phone: Phone
    origin_code: PlaceCode
    origin_detail: Text = ""
    card_code: Code | None = None
    pin_hash: PinHash | None = None
    active: bool = True


MAX_ROSTER_ENTRIES = 20_000
"""The most producers a station's roster holds, across its pages."""


class Roster(CloudSigned):
    """One page, retained on ``roster/{page}``, of the producers this kiosk may identify offline
    (its station's).

    A roster is published as pages ``0 .. pages-1`` of one ``version``, each small enough for
    the broker's packet limit; a kiosk replaces its copy once it holds every page of a version
    higher than its own. ``version`` only grows.
    """

    v: Literal[1]
    kind: Literal["roster"]
    device_id: DeviceId
    version: NonNegativeInt
    page: NonNegativeInt = Field(description="This page's number, 0-based; equals the topic's.")
    pages: PositiveInt = Field(le=MAX_ROSTER_PAGES,
                               description="How many pages this version of the roster has.")
    generated_at: AwareDatetime
    producers: list[RosterEntry] = Field(default_factory=list, max_length=MAX_ROSTER_ENTRIES)

    @model_validator(mode="after")
    def _page_in_range(self) -> Roster:
        if self.page >= self.pages:
            raise ValueError(f"page {self.page} of a roster of {self.pages} pages")
        return self


class TrustedKey(_Model):
    kid: KeyId
    public_key: PublicKeyText


class CloudKeys(CloudSigned):
    """Retained on ``keys``: the cloud keys this kiosk is to trust, for key rotation.

    Signed by a key the kiosk already trusts. The kiosk adds every listed key it has not
    retired, and retires every listed id as long as one trusted key remains; a retired key is
    never trusted again, so replaying an older set changes nothing.
    """

    v: Literal[1]
    kind: Literal["keys"]
    device_id: DeviceId
    keys: list[TrustedKey] = Field(min_length=1, max_length=8)
    retired: list[KeyId] = Field(default_factory=list, max_length=64)
    time: AwareDatetime


class Command(CloudSigned):
    """A command to one kiosk on ``cmd/{name}``."""

    v: Literal[1]
    kind: Literal["command"]
    device_id: DeviceId
    cmd_id: MessageId
    name: Code
    args: dict[str, Any] = Field(default_factory=dict)
    time: AwareDatetime
    expires_at: AwareDatetime | None = None


class CommandResult(KioskHeader):
    """The kiosk's answer to a command, on ``cmd-result/{name}``."""

    kind: Literal["command_result"]
    cmd_id: MessageId
    name: Code
    ok: bool
    result: dict[str, Any] = Field(default_factory=dict)
    error: Text | None = None

