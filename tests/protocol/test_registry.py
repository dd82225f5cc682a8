"""One message registry: every message type declared once in ``protocol.registry``, every list
that used to be kept by hand (codec maps, schemas, ledger models, outbox priorities, the
channels each side hears) derived from it, and each receiver's handler table checked
against it."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from pydantic import BaseModel

import protocol.messages as messages
from cloud_bridge.ingest.handlers import (
    LEDGER_HANDLERS,
    SIDE_HANDLERS,
    check_claims,
    check_handlers,
)
from gateway.link import MqttLink
from gateway.outbox import LEDGER_KINDS
from protocol import Channel, EventName
from protocol.codec import CHANNEL_MODELS, EVENT_KINDS, EVENT_MODELS
from protocol.registry import (
    KIOSK_CHANNELS,
    LEDGER_MODELS,
    MESSAGE_TYPES,
    PRIORITIES,
    Party,
    check_table,
)
from protocol.schemas import SCHEMA_MODELS


def _top_level_messages() -> set[type[BaseModel]]:
    """Every model in ``protocol.messages`` that is a whole message: a version and a kind."""
    return {cls for _, cls in inspect.getmembers(messages, inspect.isclass)
            if issubclass(cls, BaseModel) and cls.__module__ == messages.__name__
            and {"v", "kind"} <= set(cls.model_fields)}


def test_every_message_model_is_registered_once():
    registered = [t.model for t in MESSAGE_TYPES]
    assert sorted(m.__name__ for m in registered) == sorted(
        m.__name__ for m in _top_level_messages())
    assert len(set(registered)) == len(registered)


def test_the_old_hand_kept_lists_are_derived():
    assert set(EVENT_MODELS) == set(EventName) - {EventName.BATCH}
    assert EVENT_KINDS[EventName.TEST] == "test_reading"
    assert set(CHANNEL_MODELS) == set(Channel) - {Channel.EVENT}
    assert set(SCHEMA_MODELS) == {t.schema for t in MESSAGE_TYPES}
    assert set(LEDGER_MODELS) == set(EVENT_MODELS.values())
    assert {e: k.priority for e, k in LEDGER_KINDS.items()} == PRIORITIES
    assert PRIORITIES == {EventName.CERTIFICATE: 0, EventName.TEST: 0, EventName.LOT: 0,
                          EventName.PRODUCER: 1, EventName.ALARM: 2}
    assert KIOSK_CHANNELS == (Channel.STATUS, Channel.TELEMETRY, Channel.EVENT,
                              Channel.COMMAND_RESULT)


def test_a_table_missing_an_event_or_a_priority_is_refused():
    check_table(MESSAGE_TYPES)
    without_lot = [t for t in MESSAGE_TYPES if t.event is not EventName.LOT]
    with pytest.raises(RuntimeError, match="event names"):
        check_table(without_lot)
    no_priority = [dataclasses.replace(t, priority=None) if t.event is EventName.ALARM else t
                   for t in MESSAGE_TYPES]
    with pytest.raises(RuntimeError, match="priority"):
        check_table(no_priority)
    twice = [*MESSAGE_TYPES, dataclasses.replace(MESSAGE_TYPES[0], schema="status-again")]
    with pytest.raises(RuntimeError, match="twice"):
        check_table(twice)


def test_the_cloud_has_one_handler_per_kiosk_message():
    check_handlers(LEDGER_HANDLERS, SIDE_HANDLERS)
    kiosk_sent = {t.model for t in MESSAGE_TYPES if t.sender is Party.KIOSK and t.signed}
    assert set(LEDGER_HANDLERS) | set(SIDE_HANDLERS) == kiosk_sent
    missing_lot = {m: h for m, h in LEDGER_HANDLERS.items() if m is not messages.LotEvent}
    with pytest.raises(RuntimeError, match="LotEvent"):
        check_handlers(missing_lot, SIDE_HANDLERS)


def test_only_ledger_records_are_checked_for_claims():
    assert check_claims.__module__ == "cloud_bridge.ingest.handlers"
    claimed = {m for m, h in LEDGER_HANDLERS.items() if h.claims.__name__ != "_no_claims"}
    assert claimed == {messages.CertificateEvent, messages.LotEvent}


def test_the_kiosk_link_has_one_receiver_per_cloud_message(tmp_path):
    from gateway.app import Gateway
    from tests.gateway.conftest import kiosk_settings

    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk"))
    try:
        link: MqttLink = gw.link
        assert set(link.receivers) == {t.model for t in MESSAGE_TYPES
                                       if t.sender is Party.CLOUD}
        with pytest.raises(TypeError):
            link.commands["ping"] = None  # type: ignore[index]  # fixed at construction
        assert "diagnostics" in link.commands
    finally:
        gw.close()
