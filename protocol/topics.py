"""MQTT topic names of wire contract version 1, and their parser.

```
nongan/v1/{device_id}/status               retained birth / last will
nongan/v1/{device_id}/telemetry            periodic health
nongan/v1/{device_id}/event/{event}        ledger events (test, certificate, ...)
nongan/v1/{device_id}/ack                  cloud -> kiosk, retained: committed up to seq N
nongan/v1/{device_id}/roster/{page}        cloud -> kiosk, retained: producers to know offline,
                                           in pages 0, 1, ... that each fit the broker's limit
nongan/v1/{device_id}/keys                 cloud -> kiosk, retained: the cloud keys to trust
nongan/v1/{device_id}/cmd/{name}           cloud -> kiosk commands
nongan/v1/{device_id}/cmd-result/{name}    kiosk -> cloud answers
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import ProtocolError

ROOT = "nongan"
VERSION_SEGMENT = "v1"
PREFIX = f"{ROOT}/{VERSION_SEGMENT}"

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,62}$"
_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
MAX_ROSTER_PAGES = 256
"""A roster is at most this many pages (``roster/0`` ... ``roster/255``)."""
_PAGE_RE = re.compile(r"^(0|[1-9][0-9]{0,2})$")


class Channel(StrEnum):
    STATUS = "status"
    TELEMETRY = "telemetry"
    EVENT = "event"
    ACK = "ack"
    ROSTER = "roster"
    KEYS = "keys"
    COMMAND = "cmd"
    COMMAND_RESULT = "cmd-result"


class EventName(StrEnum):
    """Ledger event topics (the last topic segment under ``event/``)."""

    TEST = "test"
    CERTIFICATE = "certificate"
    PRODUCER = "producer"
    LOT = "lot"
    ALARM = "alarm"
    BATCH = "batch"
    """Several ledger records in one publish (for slow links); see ``protocol.batch``."""


class CommandName(StrEnum):
    """The commands a kiosk answers (``cmd/{name}``, ``cmd-result/{name}``): the broker lets a
    kiosk publish results on these names only."""

    DIAGNOSTICS = "diagnostics"


_NAMED_CHANNELS = {Channel.EVENT, Channel.COMMAND, Channel.COMMAND_RESULT}
_EVENT_NAMES = frozenset(e.value for e in EventName)
_PAGED_CHANNELS = {Channel.ROSTER}


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: which device, which channel, and the event or command name if any."""

    device_id: str
    channel: Channel
    name: str | None = None

    def __str__(self) -> str:
        base = f"{PREFIX}/{self.device_id}/{self.channel.value}"
        return f"{base}/{self.name}" if self.name is not None else base


def shown(text: str, limit: int = 80) -> str:
    """``text`` quoted for an error message, cut short: a topic may be 65,535 bytes long, and
    a reason must stay readable (and storable)."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}… ({len(text)} characters)"


def check_device_id(device_id: str) -> str:
    """Return the id if it is a valid device id, else raise ProtocolError.

    Device ids become topic levels, so they must not hold ``/``, ``+``, ``#`` or upper case.
    """
    if not _DEVICE_ID_RE.match(device_id):
        raise ProtocolError(
            f"device id {shown(device_id)} must be 3-63 lower-case letters, digits or '-'",
            code="bad_device_id",
        )
    return device_id


def _named(device_id: str, channel: Channel, name: str) -> str:
    check_device_id(device_id)
    if not _NAME_RE.match(name):
        raise ProtocolError(f"topic name {shown(name)} is not a valid {channel.value} name")
    return str(Topic(device_id, channel, name))


def status_topic(device_id: str) -> str:
    return str(Topic(check_device_id(device_id), Channel.STATUS))


def telemetry_topic(device_id: str) -> str:
    return str(Topic(check_device_id(device_id), Channel.TELEMETRY))


def event_topic(device_id: str, event: EventName | str) -> str:
    return _named(device_id, Channel.EVENT, str(event))


def ack_topic(device_id: str) -> str:
    return str(Topic(check_device_id(device_id), Channel.ACK))


def roster_topic(device_id: str, page: int) -> str:
    """The retained topic of one page of a kiosk's roster."""
    if not 0 <= page < MAX_ROSTER_PAGES:
        raise ProtocolError(f"roster page {page} is outside 0..{MAX_ROSTER_PAGES - 1}")
    return str(Topic(check_device_id(device_id), Channel.ROSTER, str(page)))


def keys_topic(device_id: str) -> str:
    """The retained topic of the cloud keys a kiosk is to trust."""
    return str(Topic(check_device_id(device_id), Channel.KEYS))


def command_topic(device_id: str, name: str) -> str:
    return _named(device_id, Channel.COMMAND, name)


def command_result_topic(device_id: str, name: str) -> str:
    return _named(device_id, Channel.COMMAND_RESULT, name)


def parse_topic(topic: str) -> Topic:
    """Parse a concrete topic (no wildcards) of this contract.

    Raises:
        ProtocolError: the topic is outside ``nongan/v1/`` or does not have a known shape.
    """
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != ROOT:
        raise ProtocolError(f"topic {shown(topic)} is not under {PREFIX}/", code="bad_topic")
    if parts[1] != VERSION_SEGMENT:
        raise ProtocolError(
            f"topic {shown(topic)} is for wire version {shown(parts[1], 20)}; this bridge "
            "speaks v1",
            code="bad_version",
        )
    device_id = check_device_id(parts[2])
    try:
        channel = Channel(parts[3])
    except ValueError:
        raise ProtocolError(
            f"topic {shown(topic)} has unknown channel {shown(parts[3], 20)}", code="bad_topic"
        ) from None
    rest = parts[4:]
    if channel in _PAGED_CHANNELS:
        if len(rest) != 1 or not _PAGE_RE.match(rest[0]) or int(rest[0]) >= MAX_ROSTER_PAGES:
            raise ProtocolError(f"topic {topic!r} needs one page number after "
                                f"{channel.value}/", code="bad_topic")
        return Topic(device_id, channel, rest[0])
    if channel is Channel.EVENT and len(rest) == 1 and rest[0] not in _EVENT_NAMES:
        # Only the known event names: nothing else under event/ can ever be stored.
        raise ProtocolError(
            f"topic {shown(topic)}: unknown event type {shown(rest[0], 20)} (known: "
            f"{', '.join(sorted(_EVENT_NAMES))})", code="bad_topic")
    if channel in _NAMED_CHANNELS:
        if len(rest) != 1 or not _NAME_RE.match(rest[0]):
            raise ProtocolError(f"topic {shown(topic)} needs one name after {channel.value}/",
                                code="bad_topic")
        return Topic(device_id, channel, rest[0])
    if rest:
        raise ProtocolError(f"topic {shown(topic)} has extra levels", code="bad_topic")
    return Topic(device_id, channel)


def subscription(channel: Channel, *, device_id: str = "+") -> str:
    """A subscription filter for one channel across devices (``+`` as the device level)."""
    base = f"{PREFIX}/{device_id}/{channel.value}"
    return f"{base}/+" if channel in _NAMED_CHANNELS | _PAGED_CHANNELS else base


def shared(group: str, topic_filter: str) -> str:
    """Wrap a filter as an MQTT 5 / Mosquitto shared subscription for a group of workers."""
    return f"$share/{group}/{topic_filter}"
