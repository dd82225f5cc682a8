"""Every message type of wire contract version 1, in one table.

Each ``MessageType`` says, once: its model, its channel (and event name), whether it is a
ledger record (a ``seq`` the cloud acknowledges), who sends and who signs it, the kiosk
outbox's publishing priority, the name of its JSON Schema, and which member must equal the
topic's last level. Everything that used to be a hand-kept list is read from here:

- the codec's maps (``EVENT_MODELS``, ``CHANNEL_MODELS``, ``EVENT_KINDS``; ``protocol.codec``),
- the JSON Schemas written (``SCHEMA_MODELS``; ``protocol.schemas``),
- the ledger's models (``LEDGER_MODELS``) and the kiosk outbox's ``PRIORITIES``,
- the channels the cloud ingests (``KIOSK_CHANNELS``) and those a kiosk hears
  (``CLOUD_CHANNELS``).

``EventName`` (``protocol.topics``) stays an enum, so code can name an event; importing this
module checks that it names exactly the registered events, so the two cannot drift.

Adding a message type: its model (``protocol.messages``), one entry here, its handler on the
receiving side, a migration for its table, the docs (docs/architecture.md, "Adding a message
type").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from pydantic import BaseModel

from .messages import (
    AlarmEvent,
    BatchEnvelope,
    CertificateEvent,
    CloudAck,
    CloudKeys,
    Command,
    CommandResult,
    LedgerHeader,
    LotEvent,
    ProducerEvent,
    Roster,
    StatusMessage,
    Telemetry,
    TestReadingEvent,
)
from .topics import Channel, EventName


class Party(StrEnum):
    KIOSK = "kiosk"
    CLOUD = "cloud"


@dataclass(frozen=True, slots=True)
class MessageType:
    model: type[BaseModel]
    channel: Channel
    schema: str
    """The JSON Schema's name (``protocol/schemas/{schema}.v1.schema.json``)."""
    sender: Party
    signed: bool = True
    """Signed by its sender's key (a batch envelope is not: each record inside is)."""
    event: EventName | None = None
    """The event name (``event/{name}``) of a message on the event channel."""
    ledger: bool = False
    """A ledger record: it has a ``seq``, goes through the kiosk's outbox, and the cloud
    acknowledges it."""
    priority: int | None = None
    """Ledger records only: the kiosk publishes lower numbers first."""
    topic_name_field: str | None = None
    """The member that must equal the topic's last level (a roster's page, a command's name)."""

    @property
    def kind(self) -> str:
        """The model's ``kind`` literal (what a batch record is recognised by)."""
        (kind,) = get_args(self.model.model_fields["kind"].annotation)
        return str(kind)


MESSAGE_TYPES: tuple[MessageType, ...] = (
    MessageType(StatusMessage, Channel.STATUS, "status", Party.KIOSK),
    MessageType(Telemetry, Channel.TELEMETRY, "telemetry", Party.KIOSK),
    MessageType(TestReadingEvent, Channel.EVENT, "event-test", Party.KIOSK,
                event=EventName.TEST, ledger=True, priority=0),
    MessageType(CertificateEvent, Channel.EVENT, "event-certificate", Party.KIOSK,
                event=EventName.CERTIFICATE, ledger=True, priority=0),
    MessageType(ProducerEvent, Channel.EVENT, "event-producer", Party.KIOSK,
                event=EventName.PRODUCER, ledger=True, priority=1),
    MessageType(LotEvent, Channel.EVENT, "event-lot", Party.KIOSK,
                event=EventName.LOT, ledger=True, priority=0),
    MessageType(AlarmEvent, Channel.EVENT, "event-alarm", Party.KIOSK,
                event=EventName.ALARM, ledger=True, priority=2),
    MessageType(BatchEnvelope, Channel.EVENT, "event-batch", Party.KIOSK, signed=False,
                event=EventName.BATCH),
    MessageType(CloudAck, Channel.ACK, "ack", Party.CLOUD),
    MessageType(Roster, Channel.ROSTER, "roster", Party.CLOUD, topic_name_field="page"),
    MessageType(CloudKeys, Channel.KEYS, "keys", Party.CLOUD),
    MessageType(Command, Channel.COMMAND, "command", Party.CLOUD, topic_name_field="name"),
    MessageType(CommandResult, Channel.COMMAND_RESULT, "command-result", Party.KIOSK),
)

BY_MODEL: dict[type[BaseModel], MessageType] = {t.model: t for t in MESSAGE_TYPES}
LEDGER_TYPES: tuple[MessageType, ...] = tuple(t for t in MESSAGE_TYPES if t.ledger)
LEDGER_MODELS: tuple[type[LedgerHeader], ...] = tuple(
    t.model for t in LEDGER_TYPES if issubclass(t.model, LedgerHeader))
EVENT_MODELS: dict[EventName, type[BaseModel]] = {
    t.event: t.model for t in LEDGER_TYPES if t.event is not None}
"""The ledger events: the topic name (``event/{name}``) and the model of each."""
EVENT_KINDS: dict[EventName, str] = {t.event: t.kind for t in LEDGER_TYPES
                                     if t.event is not None}
"""The ``kind`` member of each ledger event's messages (its model's ``kind`` literal)."""
CHANNEL_MODELS: dict[Channel, type[BaseModel]] = {
    t.channel: t.model for t in MESSAGE_TYPES if t.channel is not Channel.EVENT}
"""The model of every channel that carries one type of message."""
SCHEMA_MODELS: dict[str, type[BaseModel]] = {t.schema: t.model for t in MESSAGE_TYPES}
PRIORITIES: dict[EventName, int] = {t.event: t.priority for t in LEDGER_TYPES
                                    if t.event is not None and t.priority is not None}
"""The kiosk outbox's publishing order (lower first)."""
KIOSK_CHANNELS: tuple[Channel, ...] = tuple(dict.fromkeys(
    t.channel for t in MESSAGE_TYPES if t.sender is Party.KIOSK))
"""Every channel a kiosk publishes on: what the cloud ingests."""
CLOUD_CHANNELS: tuple[Channel, ...] = tuple(dict.fromkeys(
    t.channel for t in MESSAGE_TYPES if t.sender is Party.CLOUD))
"""Every channel the cloud publishes on: what a kiosk hears, each signed by a cloud key."""


def message_type(message: BaseModel | type[BaseModel]) -> MessageType:
    """The registered type of a message (or model); KeyError for an unregistered one."""
    model = message if isinstance(message, type) else type(message)
    return BY_MODEL[model]


def check_table(types: Sequence[MessageType]) -> None:
    """Raise ``RuntimeError`` unless the table is whole: every event name registered once,
    every ledger record an event with a priority and a ``seq``, one model per other channel,
    models and schema names unique. Run on import for ``MESSAGE_TYPES``."""
    events = [t.event for t in types if t.event is not None]
    if sorted(events) != sorted(EventName) or len(set(events)) != len(events):
        raise RuntimeError(f"protocol.registry: event names {sorted(map(str, events))} are not "
                           f"EventName's {sorted(map(str, EventName))}")
    for t in types:
        if (t.event is not None) != (t.channel is Channel.EVENT):
            raise RuntimeError(f"protocol.registry: {t.model.__name__} needs an event name "
                               "exactly when it is on the event channel")
        if t.ledger != (t.priority is not None) or t.ledger != issubclass(t.model,
                                                                         LedgerHeader):
            raise RuntimeError(f"protocol.registry: {t.model.__name__}: a ledger record has a "
                               "seq (LedgerHeader) and a priority, and nothing else has")
    single = [t.channel for t in types if t.channel is not Channel.EVENT]
    if (len(set(single)) != len(single) or len({t.schema for t in types}) != len(types)
            or len({t.model for t in types}) != len(types)):
        raise RuntimeError("protocol.registry: a channel, schema name or model is registered "
                           "twice")


check_table(MESSAGE_TYPES)
