import json

import pytest

from protocol import ProtocolError, decode, verify_object
from protocol.batch import MAX_RECORDS, is_batch_topic, make_batch, split_batch
from tests.support.kiosk_messages import FakeKiosk

TOPIC = "nongan/v1/kiosk-0001/event/batch"


@pytest.fixture
def kiosk():
    return FakeKiosk(device_id="kiosk-0001")


def test_round_trip_keeps_every_record_byte_for_byte(kiosk):
    records = [kiosk.certificate(), kiosk.reading(), kiosk.certificate()]
    parts = split_batch(TOPIC, make_batch("kiosk-0001", [p for _, p in records]))
    assert parts == records  # same topics, same signed bytes
    for topic, payload in parts:
        verify_object(decode(topic, payload).raw, kiosk.public_key)
    assert is_batch_topic(TOPIC) and not is_batch_topic(records[0][0])


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update(v=2), "version"),
        (lambda e: e.update(kind="certificate"), "kind 'batch'"),
        (lambda e: e.update(device_id="kiosk-0002"), "published on"),
        (lambda e: e.update(records=[]), "1 to"),
        (lambda e: e.update(records={"a": 1}), "list"),
        (lambda e: e.update(extra=1), "unexpected"),
    ],
)
def test_malformed_envelopes_are_refused(kiosk, mutate, reason):
    envelope = json.loads(make_batch("kiosk-0001", [kiosk.reading()[1]]))
    mutate(envelope)
    with pytest.raises(ProtocolError, match=reason):
        split_batch(TOPIC, json.dumps(envelope).encode())


def test_a_bad_record_inside_is_refused_alone(kiosk):
    good = kiosk.reading()[1]
    envelope = json.loads(make_batch("kiosk-0001", [good]))
    envelope["records"].append({"kind": "weather"})
    envelope["records"].append(42)
    parts = split_batch(TOPIC, json.dumps(envelope).encode())
    decode(*parts[0])
    for topic, payload in parts[1:]:
        with pytest.raises(ProtocolError):
            decode(topic, payload)


def test_limits(kiosk):
    with pytest.raises(ProtocolError, match="1 to"):
        make_batch("kiosk-0001", [])
    with pytest.raises(ProtocolError, match="1 to"):
        make_batch("kiosk-0001", [kiosk.reading()[1]] * (MAX_RECORDS + 1))
